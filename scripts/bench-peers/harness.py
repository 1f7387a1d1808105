"""What both peer benchmarks share: worker processes behind a start barrier, their
orderly stop, and the one JSON line of results (see README.md)."""
import json
import multiprocessing as mp
import sys
from importlib.metadata import version as dist_version


def run_workers(name, target, worker_args, processes, measure):
    """Spawns `processes` workers running target(*worker_args, ready, go, stop, index);
    each puts its index on `ready` once connected (or -1 - index on failure) and waits
    for `go`. Then measure(procs, go) releases them and returns the process time.
    Returns (exit_code, process_seconds); exit_code is non-zero if a worker failed."""
    ctx = mp.get_context("spawn")
    ready, go, stop = ctx.Queue(), ctx.Event(), ctx.Event()
    procs = [ctx.Process(target=target, args=(*worker_args, ready, go, stop, i), daemon=False) for i in range(processes)]
    for p in procs:
        p.start()
    exit_code, seconds = 0, None
    try:
        for _ in procs:
            if ready.get(timeout=120) < 0:
                raise RuntimeError("a worker failed during start-up (see stderr)")
        seconds = measure(procs, go)
    finally:
        go.set()  # release workers still waiting, so that they can stop
        stop.set()
        for p in procs:
            p.join(timeout=90)
            if p.is_alive():
                print(f"[{name}] worker pid {p.pid} did not stop in time: terminating it", file=sys.stderr, flush=True)
                p.terminate()
                p.join(timeout=10)
                exit_code = 1
            elif p.exitcode != 0:
                print(f"[{name}] worker pid {p.pid} exited with code {p.exitcode}", file=sys.stderr, flush=True)
                exit_code = 1
    return exit_code, seconds


def report(peer, args, enqueue_seconds, process_seconds):
    """Prints the result line scripts/bench reads."""
    print(json.dumps({
        "peer": peer,
        "version": dist_version(peer),
        "jobs": args.jobs,
        "processes": args.processes,
        "concurrency": args.concurrency,
        "enqueue_seconds": round(enqueue_seconds, 4),
        "process_seconds": round(process_seconds, 4),
        "jobs_per_second": round(args.jobs / process_seconds, 1),
    }), flush=True)
