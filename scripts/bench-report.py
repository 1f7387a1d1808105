#!/usr/bin/env python3
"""Renders the JSON lines of scripts/bench into a table and docs/BENCHMARKS.md."""
import json, os, platform, subprocess, sys, datetime

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
command = sys.argv[2]
by = lambda name: [r for r in rows if r.get("bench") == name]
def one(name, **match):
    for r in by(name):
        if all(r.get(k) == v for k, v in match.items()):
            return r
    return None
def fmt(v, digits=0):
    return "–" if v is None else (f"{v:,.{digits}f}")

def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception:
        return "?"

cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
machine = f"{os.cpu_count()} cores ({cpu}), {round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30)} GiB, {platform.system()} {platform.release()}"
pg = sh("psql --version")
swift = sh("swift --version 2>&1 | head -n1")
lines = []
out = lines.append
out("# Benchmarks")
out("")
out(f"Measured {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC with `{command}` on {machine}; "
    f"PostgreSQL on the same machine ({pg}), durable settings (fsync and synchronous_commit on), "
    f"release build ({swift}). Numbers move with the machine: rerun the command to compare.")
out("")
out("## Results")
out("")
out("| benchmark | result |")
out("|---|---|")
for r in by("enqueue_single"): out(f"| enqueue, one job per transaction ({r['jobs']:,} jobs) | {fmt(r['jobs_per_second'])} jobs/s |")
for r in by("enqueue_batch"): out(f"| enqueue, batches of {r['batch']:,} in one statement ({r['jobs']:,} jobs) | {fmt(r['jobs_per_second'])} jobs/s |")
for r in by("enqueue_copy"): out(f"| enqueue by COPY ({r['jobs']:,} jobs) | {fmt(r['jobs_per_second'])} jobs/s |")
for r in by("process_noop"): out(f"| process no-op jobs, {r['processes']} process × {r['slots']} slots ({r['jobs']:,} jobs) | {fmt(r['jobs_per_second'])} jobs/s |")
for r in by("process_resolution"): out(f"| process with the resolution write (real path), {r['processes']} × {r['slots']} ({r['jobs']:,} cases) | {fmt(r['jobs_per_second'])} cases/s |")
for r in by("latency_notify"): out(f"| pickup latency, LISTEN/NOTIFY ({r['picked_up']} jobs, idle workers) | p50 {r['p50_ms']:.2f} ms, p90 {r['p90_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms |")
for r in by("latency_poll"): out(f"| pickup latency, poll-only every {r['poll_ms']} ms ({r['picked_up']} jobs) | p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms |")
for r in by("import"): out(f"| dispatcher import: classify + enqueue from JSONL ({r['cases']:,} cases) | {fmt(r['cases_per_second'])} cases/s |")
for r in by("classify"): out(f"| classifier alone, {r.get('threads', 1)} thread{'s' if r.get('threads', 1) > 1 else ''} ({r['texts']:,} texts) | {fmt(r['texts_per_second'])} texts/s |")
raw = one("raw_sql")
if raw: out(f"| raw-SQL limit: pgbench, batch-of-{raw['batch']} claim + complete, {raw['clients']} clients | {fmt(raw['jobs_per_second'])} jobs/s |")
for r in by("peer"):
    out(f"| peer: {r.get('peer')} {r.get('version','')}, {r.get('processes')} process × {r.get('concurrency')} ({r.get('jobs'):,} jobs) | {fmt(r.get('jobs_per_second'))} jobs/s |")
out("")

# Targets.
best_process = max([r["jobs_per_second"] for r in by("process_noop")] or [0])
best_peer = max([r.get("jobs_per_second") or 0 for r in by("peer")] or [0])
bulk = max([r["jobs_per_second"] for r in by("enqueue_batch") + by("enqueue_copy")] or [0])
notify = one("latency_notify")
imp = one("import")
soak = by("soak"); sizes = [r for r in by("sizes") if "round" in r]
out("## Against the targets")
out("")
out("| target | measured | met |")
out("|---|---|---|")
def verdict(ok): return "yes" if ok else "**no**"
if best_peer: out(f"| process ≥ 3× the fastest peer | {best_process/best_peer:.1f}× ({fmt(best_process)} vs {fmt(best_peer)} jobs/s) | {verdict(best_process >= 3*best_peer)} |")
else: out("| process ≥ 3× the fastest peer | peers not run (use `--peers`) | – |")
if raw: out(f"| process ≥ 50 % of the raw-SQL limit | {100*best_process/raw['jobs_per_second']:.0f} % | {verdict(best_process >= 0.5*raw['jobs_per_second'])} |")
if notify: out(f"| pickup p50 ≤ 2 ms and p99 ≤ 5 ms | p50 {notify['p50_ms']:.2f} ms, p99 {notify['p99_ms']:.2f} ms | {verdict(notify['p50_ms'] <= 2 and notify['p99_ms'] <= 5)} |")
out(f"| bulk enqueue ≥ 100,000 jobs/s | {fmt(bulk)} jobs/s | {verdict(bulk >= 100000)} |")
copy = one("enqueue_copy")
beside = f" (COPY enqueue in the same run: {fmt(copy['jobs_per_second'])} jobs/s)" if copy else ""
if imp: out(f"| import ≥ 5,000 cases/s | {fmt(imp['cases_per_second'])} cases/s{beside} | {verdict(imp['cases_per_second'] >= 5000)} |")
classify = max(by("classify"), key=lambda r: r["texts_per_second"], default=None)
if classify: out(f"| classifier ≥ 30,000 texts/s | {fmt(classify['texts_per_second'])} texts/s on {classify.get('threads', 1)} thread(s){beside} | {verdict(classify['texts_per_second'] >= 30000)} |")
if len(sizes) >= 2:
    first, last = sizes[0], sizes[-1]
    hot_first = first["jobs_heap"] + first["jobs_indexes"]; hot_last = last["jobs_heap"] + last["jobs_indexes"]
    claims = [s["claim_ms"] for s in sizes if s.get("claim_ms")]
    flat = hot_last <= 2 * max(hot_first, 8192) and (not claims or max(claims) <= 2 * min(claims))
    out(f"| flat soak (hot table and claim latency within 2×) | hot table {hot_first/1024:.0f} → {hot_last/1024:.0f} KiB; claim {min(claims or [0]):.3f}–{max(claims or [0]):.3f} ms | {verdict(flat)} |")
out("")
if soak:
    out(f"## Soak: {len(soak) * 100}k jobs, rounds of 100k (2 processes × 8 slots)")
    out("")
    out("| round | jobs/s | mean claim statement (ms) | queue_jobs heap + indexes | archive heap + indexes (rows) |")
    out("|---|---|---|---|---|")
    for r, s in zip(soak, sizes):
        out(f"| {r['round']} | {fmt(r['jobs_per_second'])} | {s.get('claim_ms', 0):.3f} | {(s['jobs_heap'] + s['jobs_indexes'])/1024:,.0f} KiB | {(s['archive_heap'] + s['archive_indexes'])/2**20:,.1f} MiB ({s['archive_rows']:,}) |")
    out("")
    out("The hot table holds only unfinished jobs, so it stays the same size whatever has gone through; "
        "completed jobs move to the append-only archive in the statement that completes them, and the "
        "maintenance leader prunes the archive after its retention (24 h by default), so the archive is "
        "bounded by retention × throughput rather than by history.")
    out("")
prof = by("profile")
if prof:
    out("## Where the time goes (pg_stat_statements, last soak round)")
    out("")
    out("| calls | total ms | mean ms | rows | statement |")
    out("|---|---|---|---|---|")
    for p in prof:
        out(f"| {p['calls']:,} | {p['total_ms']:,.0f} | {p['mean_ms']:.3f} | {p['rows']:,} | `{p['query'].replace('|', '/')}` |")
    out("")
notes_path = os.path.join(os.path.dirname(__file__), "..", "docs", "BENCHMARKS-notes.md")
if os.path.exists(notes_path):
    out(open(notes_path).read())
text = "\n".join(lines) + "\n"
open(os.path.join(os.path.dirname(__file__), "..", "docs", "BENCHMARKS.md"), "w").write(text)
print(text)
