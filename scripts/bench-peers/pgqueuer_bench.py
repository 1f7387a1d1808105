#!/usr/bin/env python3
"""Drain benchmark for PgQueuer (peer comparison harness).

Usage:
    python pgqueuer_bench.py --dsn DSN --jobs 20000 --concurrency 8 --processes 1

Steps:
  1. Install PgQueuer's schema with PgQueuer's own API (Queries.install(), the
     same code path as `pgq install`) if it is not installed yet. Durable
     defaults: logged tables, no server settings are changed.
  2. Remove leftovers of earlier runs of this benchmark (entrypoint
     BENCH_ENTRYPOINT only) and VACUUM ANALYZE the queue table, then enqueue
     N no-op jobs with ONE batch `Queries.enqueue([...], [...], [...])` call
     (timed: enqueue_seconds), then CHECKPOINT if the role may.
  3. Spawn --processes worker processes. Each opens --concurrency asyncpg
     connections and runs one PgQueuer QueueManager per connection (this is
     how PgQueuer's own tools/benchmark.py scales consumers: `--dequeue N`),
     each dequeuing --batch-size jobs per round trip (PgQueuer default: 10).
     Workers connect and verify first, then wait at a start barrier.
  4. The clock starts (server clock_timestamp()) when the barrier is released.
     The parent polls the queue table until no job of the entrypoint is left
     (PgQueuer deletes a job row when it logs its completion), then takes the
     end time as the newest `created` stamp of the jobs' 'successful' rows in
     pgqueuer_log, so the poll interval does not add to the measured time.
  5. Workers are stopped cleanly (QueueManager.shutdown), joined, and exactly
     one JSON line is printed on stdout. Anything else goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

from harness import report, run_workers

BENCH_ENTRYPOINT = "peerbench_noop"


def log(msg: str) -> None:
    print(f"[pgqueuer_bench] {msg}", file=sys.stderr, flush=True)


def run_loop(coro):
    # PgQueuer's own CLI (`pgq run`) runs on uvloop when it is installed
    # (it is a dependency of pgqueuer on Linux); do the same.
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)


# --------------------------------------------------------------------------
# worker process
# --------------------------------------------------------------------------


async def worker_async(dsn, concurrency, batch_size, ready, go, stop, index):
    import asyncpg

    from pgqueuer.db import AsyncpgDriver
    from pgqueuer.models import Job
    from pgqueuer.qm import QueueManager
    from pgqueuer.queries import Queries

    conns = [await asyncpg.connect(dsn) for _ in range(concurrency)]
    managers = []
    for conn in conns:
        qm = QueueManager(Queries(AsyncpgDriver(conn)))

        @qm.entrypoint(BENCH_ENTRYPOINT)
        async def noop(job: Job) -> None:  # the job does nothing
            return None

        managers.append(qm)
    # Fail before the start barrier if the schema is not usable.
    await managers[0].verify_structure()

    ready.put(index)
    loop = asyncio.get_running_loop()
    if not await loop.run_in_executor(None, go.wait, 300):
        raise RuntimeError("start signal never came")

    runs = [asyncio.create_task(qm.run(batch_size=batch_size)) for qm in managers]

    parent = os.getppid()
    try:
        while not stop.is_set():
            if os.getppid() != parent:
                raise RuntimeError("parent process went away")
            failed = [t for t in runs if t.done()]
            if failed:
                # A QueueManager ended on its own: surface its error.
                await failed[0]
                raise RuntimeError("a QueueManager stopped before it was told to")
            await asyncio.sleep(0.05)
    finally:
        for qm in managers:
            qm.shutdown.set()
        results = await asyncio.wait_for(
            asyncio.gather(*runs, return_exceptions=True), timeout=60
        )
        for conn in conns:
            await conn.close()
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise errors[0]


def worker_main(dsn, concurrency, batch_size, ready, go, stop, index):
    try:
        run_loop(worker_async(dsn, concurrency, batch_size, ready, go, stop, index))
    except BaseException as exc:  # noqa: BLE001 - report and exit non-zero
        print(f"[pgqueuer_bench] worker {index} failed: {exc!r}", file=sys.stderr, flush=True)
        ready.put(-1 - index)
        sys.exit(1)


# --------------------------------------------------------------------------
# parent: setup, enqueue, measure
# --------------------------------------------------------------------------


CAN_CHECKPOINT = (
    "SELECT rolsuper OR pg_has_role(current_user, 'pg_checkpoint', 'MEMBER') "
    "FROM pg_roles WHERE rolname = current_user"
)


async def checkpoint_if_allowed(conn) -> None:
    # Flush the enqueue's WAL before the timed part, so that a checkpoint does
    # not land inside it (same as bench-sql/setup.sql). No setting is changed.
    if await conn.fetchval(CAN_CHECKPOINT):
        await conn.execute("CHECKPOINT")


async def prepare_and_enqueue(dsn: str, jobs: int) -> tuple[float, str, str]:
    import asyncpg

    from pgqueuer.db import AsyncpgDriver
    from pgqueuer.queries import Queries

    conn = await asyncpg.connect(dsn)
    try:
        q = Queries(AsyncpgDriver(conn))
        if not await q.schema_is_installed():
            log("PgQueuer schema missing: installing it (Queries.install, as `pgq install`)")
            await q.install()
        settings = q.qbe.settings
        queue_table = settings.queue_table
        log_table = settings.queue_table_log
        if getattr(settings, "db_schema", None):
            queue_table = f"{settings.db_schema}.{queue_table}"
            log_table = f"{settings.db_schema}.{log_table}"

        # Leftovers of earlier runs of this benchmark only.
        await q.clear_queue(BENCH_ENTRYPOINT)
        await q.clear_queue_log(BENCH_ENTRYPOINT)
        await conn.execute("VACUUM ANALYZE " + queue_table)

        t = time.perf_counter()
        ids = await q.enqueue([BENCH_ENTRYPOINT] * jobs, [None] * jobs, [0] * jobs)
        enqueue_seconds = time.perf_counter() - t
        if len(ids) != jobs:
            raise RuntimeError(f"enqueue returned {len(ids)} ids, expected {jobs}")
        await checkpoint_if_allowed(conn)
        return enqueue_seconds, queue_table, log_table
    finally:
        await conn.close()


async def measure(dsn, jobs, procs, go, queue_table, log_table, timeout):
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        t0 = await conn.fetchval("SELECT clock_timestamp()")
        go.set()
        deadline = time.monotonic() + timeout
        while True:
            # Cheap probe (EXISTS, every 0.1 s): it only tells when to look at
            # the completion stamps, which give the measured end time.
            busy = await conn.fetchval(
                f"SELECT EXISTS (SELECT 1 FROM {queue_table} WHERE entrypoint = $1)",
                BENCH_ENTRYPOINT,
            )
            if not busy:
                break
            dead = [p for p in procs if not p.is_alive()]
            if dead:
                raise RuntimeError(
                    f"worker pid {dead[0].pid} exited with code {dead[0].exitcode} "
                    "before all jobs were done"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"timeout: jobs still in the queue after {timeout}s")
            await asyncio.sleep(0.1)
        row = await conn.fetchrow(
            f"SELECT count(*) AS n, max(created) AS last FROM {log_table} "
            "WHERE entrypoint = $1 AND status = 'successful'",
            BENCH_ENTRYPOINT,
        )
        if row["n"] != jobs:
            raise RuntimeError(f"{row['n']} jobs logged successful, expected {jobs}")
        return (row["last"] - t0).total_seconds()
    finally:
        await conn.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--jobs", type=int, default=20000)
    ap.add_argument("--concurrency", type=int, default=8,
                    help="QueueManagers (one connection each) per worker process")
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=10,
                    help="jobs dequeued per round trip by each QueueManager (PgQueuer default 10)")
    ap.add_argument("--timeout", type=float, default=600.0)
    args = ap.parse_args()

    enqueue_seconds, queue_table, log_table = run_loop(prepare_and_enqueue(args.dsn, args.jobs))
    log(f"enqueued {args.jobs} jobs in {enqueue_seconds:.3f}s")

    exit_code, process_seconds = run_workers(
        "pgqueuer_bench", worker_main, (args.dsn, args.concurrency, args.batch_size), args.processes,
        lambda procs, go: run_loop(measure(args.dsn, args.jobs, procs, go, queue_table, log_table, args.timeout)))
    if exit_code:
        return exit_code
    report("pgqueuer", args, enqueue_seconds, process_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
