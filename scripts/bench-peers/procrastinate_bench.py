#!/usr/bin/env python3
"""Drain benchmark for Procrastinate (peer comparison harness).

Usage:
    python procrastinate_bench.py --dsn DSN --jobs 20000 --concurrency 8 --processes 1

Steps:
  1. Apply Procrastinate's schema with its own API
     (App.schema_manager.apply_schema_async(), the same code path as
     `procrastinate schema --apply`) if procrastinate_jobs does not exist.
     Durable defaults: no server settings are changed.
  2. Remove leftovers of earlier runs of this benchmark (queue BENCH_QUEUE
     only) and VACUUM ANALYZE the two tables, then defer N no-op jobs with
     ONE `Task.batch_defer_async(...)` call (timed: enqueue_seconds), then
     CHECKPOINT if the role may.
  3. Spawn --processes worker processes. Each runs one Procrastinate worker
     (App.run_worker_async) with concurrency=--concurrency, LISTEN/NOTIFY on
     (its default) and delete_jobs left at its default ("never": finished
     jobs stay in the table with status 'succeeded'). The psycopg pool of
     each process holds concurrency + 2 connections (the listener keeps one;
     the psycopg_pool default of 4 would starve concurrency 8), all opened
     before the start barrier.
  4. The clock starts (server clock_timestamp()) when the barrier is released.
     The parent polls procrastinate_jobs until none of the queue's jobs is
     'todo' or 'doing', then takes the end time as the newest 'succeeded'
     event in procrastinate_events, so the poll interval does not add to the
     measured time.
  5. Workers are stopped cleanly (the worker task is cancelled, which
     Procrastinate turns into a graceful stop), joined, and exactly one JSON
     line is printed on stdout. Anything else goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

from harness import report, run_workers

BENCH_QUEUE = "peerbench"
BENCH_TASK = "peerbench_noop"


def log(msg: str) -> None:
    print(f"[procrastinate_bench] {msg}", file=sys.stderr, flush=True)


def make_app(dsn: str, pool_size: int):
    # Procrastinate warns (stderr) that the App lives in the main module: that only
    # matters for importing tasks by path; here every process registers the task
    # itself under a fixed name, so the warning is harmless.
    import procrastinate

    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(
            conninfo=dsn, min_size=pool_size, max_size=pool_size
        )
    )

    @app.task(name=BENCH_TASK, queue=BENCH_QUEUE)
    async def noop() -> None:  # the job does nothing
        return None

    return app, noop


# --------------------------------------------------------------------------
# worker process
# --------------------------------------------------------------------------


async def worker_async(dsn, concurrency, ready, go, stop, index):
    app, _ = make_app(dsn, concurrency + 2)
    async with app.open_async():
        if not await app.check_connection_async():
            raise RuntimeError("Procrastinate schema is not usable")
        ready.put(index)
        loop = asyncio.get_running_loop()
        if not await loop.run_in_executor(None, go.wait, 300):
            raise RuntimeError("start signal never came")

        run = asyncio.create_task(
            app.run_worker_async(
                queues=[BENCH_QUEUE],
                concurrency=concurrency,
                name=f"peerbench-{index}",
                wait=True,
                install_signal_handlers=False,
            )
        )
        parent = os.getppid()
        try:
            while not stop.is_set():
                if os.getppid() != parent:
                    raise RuntimeError("parent process went away")
                if run.done():
                    await run  # surfaces the worker's error
                    raise RuntimeError("the worker stopped before it was told to")
                await asyncio.sleep(0.05)
        finally:
            # Cancelling run_worker_async is Procrastinate's way to stop a worker
            # that runs as a task: it sets the stop event and waits for the
            # running jobs before unregistering the worker.
            run.cancel()
            try:
                await asyncio.wait_for(run, timeout=60)
            except asyncio.CancelledError:
                pass


def worker_main(dsn, concurrency, ready, go, stop, index):
    try:
        asyncio.run(worker_async(dsn, concurrency, ready, go, stop, index))
    except BaseException as exc:  # noqa: BLE001 - report and exit non-zero
        print(f"[procrastinate_bench] worker {index} failed: {exc!r}", file=sys.stderr, flush=True)
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
    cur = await conn.execute(CAN_CHECKPOINT)
    (allowed,) = await cur.fetchone()
    if allowed:
        await conn.execute("CHECKPOINT")


async def prepare_and_enqueue(dsn: str, jobs: int) -> float:
    import psycopg

    app, noop = make_app(dsn, 2)
    async with app.open_async():
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
            cur = await conn.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")
            (installed,) = await cur.fetchone()
            if not installed:
                log("Procrastinate schema missing: applying it (schema_manager.apply_schema_async)")
                await app.schema_manager.apply_schema_async()
            # Leftovers of earlier runs of this benchmark only (events cascade).
            await conn.execute("DELETE FROM procrastinate_jobs WHERE queue_name = %s", (BENCH_QUEUE,))
            await conn.execute("VACUUM ANALYZE procrastinate_jobs")
            await conn.execute("VACUUM ANALYZE procrastinate_events")

        t = time.perf_counter()
        ids = await noop.batch_defer_async(*({} for _ in range(jobs)))
        enqueue_seconds = time.perf_counter() - t
        if len(ids) != jobs:
            raise RuntimeError(f"batch_defer returned {len(ids)} ids, expected {jobs}")
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
            await checkpoint_if_allowed(conn)
        return enqueue_seconds


async def measure(dsn, jobs, procs, go, timeout):
    import psycopg

    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        cur = await conn.execute("SELECT clock_timestamp()")
        (t0,) = await cur.fetchone()
        go.set()
        deadline = time.monotonic() + timeout
        while True:
            # Cheap probe (EXISTS, every 0.1 s): it only tells when to look at
            # the completion stamps, which give the measured end time.
            cur = await conn.execute(
                "SELECT EXISTS (SELECT 1 FROM procrastinate_jobs "
                "WHERE queue_name = %s AND status IN ('todo', 'doing'))",
                (BENCH_QUEUE,),
            )
            (busy,) = await cur.fetchone()
            if not busy:
                break
            dead = [p for p in procs if not p.is_alive()]
            if dead:
                raise RuntimeError(
                    f"worker pid {dead[0].pid} exited with code {dead[0].exitcode} "
                    "before all jobs were done"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"timeout: jobs still to do after {timeout}s")
            await asyncio.sleep(0.1)
        cur = await conn.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE queue_name = %s AND status = 'succeeded'",
            (BENCH_QUEUE,),
        )
        (succeeded,) = await cur.fetchone()
        if succeeded != jobs:
            raise RuntimeError(f"{succeeded} jobs succeeded, expected {jobs}")
        cur = await conn.execute(
            "SELECT max(e.at) FROM procrastinate_events e "
            "JOIN procrastinate_jobs j ON j.id = e.job_id "
            "WHERE j.queue_name = %s AND e.type = 'succeeded'",
            (BENCH_QUEUE,),
        )
        (last,) = await cur.fetchone()
        return (last - t0).total_seconds()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--jobs", type=int, default=20000)
    ap.add_argument("--concurrency", type=int, default=8,
                    help="Procrastinate worker concurrency per process")
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=600.0)
    args = ap.parse_args()

    enqueue_seconds = asyncio.run(prepare_and_enqueue(args.dsn, args.jobs))
    log(f"deferred {args.jobs} jobs in {enqueue_seconds:.3f}s")

    exit_code, process_seconds = run_workers(
        "procrastinate_bench", worker_main, (args.dsn, args.concurrency), args.processes,
        lambda procs, go: asyncio.run(measure(args.dsn, args.jobs, procs, go, args.timeout)))
    if exit_code:
        return exit_code
    report("procrastinate", args, enqueue_seconds, process_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
