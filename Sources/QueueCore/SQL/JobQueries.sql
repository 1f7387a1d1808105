-- Every SQL statement of the queue, in one place.
--
-- Each names the index that serves it (see `migrations/0002_queue.sql`). All values
-- are bound parameters; arrays are passed whole (`unnest($1::bigint[], …)`) so that a
-- batch of any size is one statement and one round trip.
--
-- The fenced transitions (complete, fail, snooze, cancelRunning, giveBack, extendLeases)
-- match `state = 'running'` and the caller's lease token: they find their rows through
-- `queue_jobs_running`, the small partial index of running jobs by id (EXPLAIN shows it;
-- Tests/PostgresClientTests/StatementCatalogueTests.swift checks it).

-- name: enqueue
-- index: none (calls queue_enqueue() of migration 0012; queue_jobs_unique_key is its conflict arbiter)
-- Inserts a batch of jobs given as parallel arrays, in input order (so identity
-- ids ascend with input position), through `queue_enqueue()`, the queue's one insert path
-- (the case ledger's SQL functions use it too). A job whose unique key is already held by
-- an unfinished job is skipped; ``existingByUniqueKey`` then finds the holder.
-- `$9`/`$10` wait for a signal (until a timeout), `$11` is the fairness key, `$12` the
-- dependencies (a JSON array of ids per job), `$13` whether a job runs when one fails.
SELECT id, unique_key FROM public.queue_enqueue(
    $1::text[], $2::text[], $3::jsonb[], $4::smallint[], $5::timestamptz[],
    $6::integer[], $7::text[], $8::integer[],
    $9::text[], $10::timestamptz[], $11::text[], $12::jsonb[], $13::boolean[])

-- name: existingByUniqueKey
-- index: queue_jobs_unique_key
-- The unfinished jobs holding the given unique keys.
SELECT unique_key, id FROM queue_jobs
WHERE unique_key = ANY($1::text[]) AND state NOT IN ('discarded', 'cancelled')

-- name: copyJobs
-- index: none (bulk load)
-- Bulk load without unique keys: COPY straight into the table. The statement
-- trigger still notifies listeners.
COPY queue_jobs (queue, kind, payload, priority, run_at, state, max_attempts, time_limit_ms) FROM STDIN

-- name: claim
-- index: queue_jobs_claim
-- Claims up to `$2` ready jobs from the queues in `$1` (skipping paused ones), each
-- with a fresh lease token and `lease_expires_at = now() + $3 ms`, held by `$4`.
-- `FOR UPDATE SKIP LOCKED` lets any number of workers claim concurrently without
-- waiting on each other or taking the same job. Within a priority, jobs with a fairness
-- key sort by their place (`fair_at`, set at enqueue), the others by `run_at`: the
-- expression the claim index is built on, so the claim stays a walk of the index.
-- A job woken from a wait brings its wake reason and the signal's data.
--
WITH picked AS (
    SELECT j.id
    FROM unnest($1::text[]) WITH ORDINALITY AS q(name, n)
    CROSS JOIN LATERAL (
        SELECT id FROM queue_jobs
        WHERE state = 'available' AND queue = q.name
        ORDER BY priority DESC, coalesce(fair_at, run_at), id
        LIMIT $2
        FOR UPDATE SKIP LOCKED
    ) j
    WHERE NOT EXISTS (SELECT 1 FROM queue_paused p WHERE p.queue = q.name)
    LIMIT $2
)
UPDATE queue_jobs j
SET state = 'running',
    attempt = j.attempt + 1,
    lease_token = gen_random_uuid(),
    lease_expires_at = now() + $3 * interval '1 millisecond',
    locked_by = $4,
    attempted_at = now(),
    heartbeat_at = now()
FROM picked
WHERE j.id = picked.id
RETURNING j.id, j.queue, j.kind, j.payload::text AS payload, j.priority, j.attempt, j.max_attempts,
          j.lease_token, j.lease_expires_at, j.run_at, j.created_at, j.time_limit_ms,
          extract(epoch FROM now() - j.run_at) AS wait_seconds,
          j.wait_key, j.wake_reason, j.signal_data::text AS signal_data

-- name: complete
-- index: queue_jobs_running
-- Completes jobs: they leave the hot table for the archive in one statement.
-- Only jobs still running under the given token are touched; the returned ids are
-- those completed. Jobs that depend on a completed one are released in the same
-- statement, by the row trigger `queue_jobs_dependency_finished` (migration 0012), which
-- runs only for jobs with dependents.
WITH done AS (
    DELETE FROM queue_jobs j
    USING unnest($1::bigint[], $2::uuid[]) AS c(id, token)
    WHERE j.id = c.id AND j.lease_token = c.token AND j.state = 'running'
    RETURNING j.*
),
archived AS (
    INSERT INTO queue_job_archive (id, queue, kind, payload, priority, state, attempt, max_attempts,
                                   errors, unique_key, locked_by, created_at, attempted_at, finished_at)
    SELECT id, queue, kind, payload, priority, 'completed', attempt, max_attempts,
           errors, unique_key, locked_by, created_at, attempted_at, now()
    FROM done
)
SELECT id, lease_token FROM done

-- name: fail
-- index: queue_jobs_running
-- Records failed attempts: each error is appended; the job becomes retryable after
-- its delay (`$4` ms), or discarded when it was its last attempt or `$5` says so.
-- A job with a fairness key keeps its place in the order, but never sorts before the
-- moment its retry is due.
--
UPDATE queue_jobs j
SET state = CASE WHEN f.discard OR j.attempt >= j.max_attempts THEN 'discarded'
                 WHEN f.delay_ms <= 0 THEN 'available'
                 ELSE 'retryable' END::queue_job_state,
    run_at = CASE WHEN f.discard OR j.attempt >= j.max_attempts THEN j.run_at
                  ELSE now() + greatest(f.delay_ms, 0) * interval '1 millisecond' END,
    finished_at = CASE WHEN f.discard OR j.attempt >= j.max_attempts THEN now() END,
    fair_at = CASE WHEN j.fair_at IS NULL OR f.discard OR j.attempt >= j.max_attempts THEN j.fair_at
                   ELSE greatest(j.fair_at, now() + greatest(f.delay_ms, 0) * interval '1 millisecond') END,
    errors = j.errors || jsonb_build_array(jsonb_build_object(
        'attempt', j.attempt, 'at', now(), 'error', f.error, 'worker', j.locked_by)),
    lease_token = NULL, lease_expires_at = NULL, locked_by = NULL
FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::bigint[], $5::boolean[])
     AS f(id, token, error, delay_ms, discard)
WHERE j.id = f.id AND j.lease_token = f.token AND j.state = 'running'
RETURNING j.id, j.state::text AS state, f.token AS lease_token

-- name: snooze
-- index: queue_jobs_running
-- Snoozes jobs: back to `scheduled` for `$3` ms without consuming the attempt (a job
-- with a fairness key keeps its place, but not before it is due).
--
UPDATE queue_jobs j
SET state = 'scheduled', attempt = j.attempt - 1,
    run_at = now() + s.delay_ms * interval '1 millisecond',
    fair_at = CASE WHEN j.fair_at IS NOT NULL THEN greatest(j.fair_at, now() + s.delay_ms * interval '1 millisecond') END,
    lease_token = NULL, lease_expires_at = NULL, locked_by = NULL
FROM unnest($1::bigint[], $2::uuid[], $3::bigint[]) AS s(id, token, delay_ms)
WHERE j.id = s.id AND j.lease_token = s.token AND j.state = 'running'
RETURNING j.id

-- name: wait
-- index: queue_jobs_running
-- The handler hands its jobs back to wait for a signal of `$3` (until `$4`, or for ever
-- when NULL), without consuming the attempt and without holding a slot.
--
UPDATE queue_jobs j
SET state = 'waiting', attempt = j.attempt - 1,
    wait_key = w.key, wait_until = w.until, wake_reason = NULL, signal_data = NULL,
    lease_token = NULL, lease_expires_at = NULL, locked_by = NULL
FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::timestamptz[]) AS w(id, token, key, until)
WHERE j.id = w.id AND j.lease_token = w.token AND j.state = 'running'
RETURNING j.id

-- name: signal
-- index: queue_jobs_waiting
-- Makes every job waiting for key `$1` available, with the signal's data `$2` (JSON or
-- NULL) in `signal_data`, and notifies their queues. A job whose timeout is being
-- promoted at the same moment is woken by one of the two only: both change only rows
-- still `waiting`, under the row lock.
--
WITH woken AS (
    UPDATE queue_jobs j
    SET state = 'available', run_at = now(), wake_reason = 'signal', signal_data = $2::jsonb
    WHERE j.state = 'waiting' AND j.wait_key = $1
    RETURNING j.queue
),
notified AS (
    SELECT pg_notify('queue_jobs', w.queue) FROM (SELECT DISTINCT woken.queue FROM woken) w
)
SELECT (SELECT count(*) FROM woken) AS woken, (SELECT count(*) FROM notified) AS queues

-- name: cancelRunning
-- index: queue_jobs_running
-- The handler cancels its own jobs (`$3` says why).
UPDATE queue_jobs j
SET state = 'cancelled', finished_at = now(),
    errors = j.errors || jsonb_build_array(jsonb_build_object(
        'attempt', j.attempt, 'at', now(), 'error', 'cancelled: ' || c.reason, 'worker', j.locked_by)),
    lease_token = NULL, lease_expires_at = NULL, locked_by = NULL
FROM unnest($1::bigint[], $2::uuid[], $3::text[]) AS c(id, token, reason)
WHERE j.id = c.id AND j.lease_token = c.token AND j.state = 'running'
RETURNING j.id

-- name: giveBack
-- index: queue_jobs_running
-- Gives unfinished jobs back (graceful shutdown) without consuming the attempt.
--
UPDATE queue_jobs j
SET state = 'available', attempt = greatest(j.attempt - 1, 0),
    lease_token = NULL, lease_expires_at = NULL, locked_by = NULL
FROM unnest($1::bigint[], $2::uuid[]) AS g(id, token)
WHERE j.id = g.id AND j.lease_token = g.token AND j.state = 'running'
RETURNING j.id

-- name: extendLeases
-- index: queue_jobs_running
-- Heartbeat: extends the leases of all of a process's running jobs by `$3` ms.
-- Returned ids kept their lease; a missing id lost it. Only `lease_expires_at`
-- changes, which no index covers, so the update is HOT.
UPDATE queue_jobs j
SET lease_expires_at = now() + $3 * interval '1 millisecond', heartbeat_at = now()
FROM unnest($1::bigint[], $2::uuid[]) AS h(id, token)
WHERE j.id = h.id AND j.lease_token = h.token AND j.state = 'running'
RETURNING j.id

-- name: electLeader
-- index: queue_leader_pkey
-- Takes or renews the leadership for `$2` ms when it is free, expired or ours.
INSERT INTO queue_leader (id, holder, elected_at, expires_at)
VALUES (true, $1, now(), now() + $2 * interval '1 millisecond')
ON CONFLICT (id) DO UPDATE
SET holder = EXCLUDED.holder,
    elected_at = CASE WHEN queue_leader.holder = EXCLUDED.holder THEN queue_leader.elected_at ELSE now() END,
    expires_at = EXCLUDED.expires_at
WHERE queue_leader.holder = EXCLUDED.holder OR queue_leader.expires_at < now()
RETURNING holder

-- name: resignLeader
-- index: none (one-row table)
-- Steps down (on shutdown) so another process takes over at once.
DELETE FROM queue_leader WHERE holder = $1

-- name: rescueExpired
-- index: queue_jobs_running
-- Rescues jobs whose lease expired (their worker died or was cut off): the attempt
-- counts; they run again at once, or are discarded after their last attempt.
--
UPDATE queue_jobs j
SET state = CASE WHEN j.attempt >= j.max_attempts THEN 'discarded' ELSE 'available' END::queue_job_state,
    finished_at = CASE WHEN j.attempt >= j.max_attempts THEN now() END,
    errors = j.errors || jsonb_build_array(jsonb_build_object(
        'attempt', j.attempt, 'at', now(),
        'error', 'lease expired: worker ' || coalesce(j.locked_by, '?') || ' stopped heartbeating',
        'worker', j.locked_by)),
    lease_token = NULL, lease_expires_at = NULL, locked_by = NULL
WHERE j.id IN (
    SELECT id FROM queue_jobs
    WHERE state = 'running' AND lease_expires_at < now()
    ORDER BY id LIMIT $1
    FOR UPDATE SKIP LOCKED
)
RETURNING j.id, j.queue, j.kind, j.payload::text AS payload, j.attempt, j.max_attempts, j.state::text AS state,
          (j.errors->-1->>'worker') AS worker

-- name: promoteDue
-- index: queue_jobs_due
-- Makes due scheduled and retryable jobs available.
WITH due AS (
    SELECT id FROM queue_jobs
    WHERE state IN ('scheduled', 'retryable') AND run_at <= now()
    ORDER BY run_at LIMIT $1
    FOR UPDATE SKIP LOCKED
)
UPDATE queue_jobs j SET state = 'available'
FROM due WHERE j.id = due.id
RETURNING j.queue

-- name: promoteTimedOut
-- index: queue_jobs_wait_timeout
-- Makes waiting jobs whose timeout passed available, marked `wake_reason = 'timeout'`.
WITH due AS (
    SELECT id FROM queue_jobs
    WHERE state = 'waiting' AND wait_until <= now()
    ORDER BY wait_until LIMIT $1
    FOR UPDATE SKIP LOCKED
)
UPDATE queue_jobs j SET state = 'available', run_at = now(), wake_reason = 'timeout', signal_data = NULL
FROM due WHERE j.id = due.id
RETURNING j.queue

-- name: schedulePeriodic
-- index: none (upsert; queue_periodic_pkey is the conflict arbiter)
-- Registers or changes a periodic job. Its last enqueued period is kept, so changing a
-- schedule never enqueues a period twice.
INSERT INTO queue_periodic (name, queue, kind, payload, priority, max_attempts, time_limit_ms, interval_ms)
VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8)
ON CONFLICT (name) DO UPDATE
SET queue = EXCLUDED.queue, kind = EXCLUDED.kind, payload = EXCLUDED.payload, priority = EXCLUDED.priority,
    max_attempts = EXCLUDED.max_attempts, time_limit_ms = EXCLUDED.time_limit_ms,
    interval_ms = EXCLUDED.interval_ms, updated_at = now()

-- name: unschedulePeriodic
-- index: queue_periodic_pkey
DELETE FROM queue_periodic WHERE name = $1 RETURNING name

-- name: periodicSchedules
-- index: none (small registry table)
SELECT name, queue, kind, payload::text AS payload, priority, max_attempts, time_limit_ms, interval_ms,
       last_enqueued_period
FROM queue_periodic ORDER BY name

-- name: enqueuePeriodic
-- index: none (small registry table; the enqueue goes through queue_enqueue())
-- Enqueues each periodic job whose current period (the clock `$1`, else now(), floored
-- to its interval since the epoch) has not been enqueued yet. The compare-and-set of
-- `last_enqueued_period` and the enqueue are one statement: racing leaders serialise on
-- the schedule's row and the second finds the period taken; a period whose job already
-- completed (and left queue_jobs) is never enqueued again. The unique key
-- `periodic:<name>:<period start, UTC>` guards the same from the job's side.
--
WITH due AS (
    UPDATE queue_periodic p
    SET last_enqueued_period = d.period
    FROM (
        SELECT s.name,
               to_timestamp(floor(extract(epoch FROM coalesce($1::timestamptz, now())) * 1000 / s.interval_ms)
                            * s.interval_ms / 1000.0) AS period
        FROM queue_periodic s
    ) d
    WHERE p.name = d.name AND (p.last_enqueued_period IS NULL OR p.last_enqueued_period < d.period)
    RETURNING p.name, p.queue, p.kind, p.payload, p.priority, p.max_attempts, p.time_limit_ms, d.period
)
SELECT due.name, due.queue, due.period, e.id
FROM due
LEFT JOIN LATERAL public.queue_enqueue(
    ARRAY[due.queue], ARRAY[due.kind], ARRAY[due.payload], ARRAY[due.priority], ARRAY[NULL::timestamptz],
    ARRAY[due.max_attempts],
    ARRAY['periodic:' || due.name || ':' || to_char(due.period AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')],
    ARRAY[due.time_limit_ms]) AS e ON true

-- name: pruneArchive
-- index: queue_job_archive_finished
-- Deletes archived (completed) jobs older than `$1` ms, in batches of `$2`.
--
DELETE FROM queue_job_archive
WHERE id IN (
    SELECT id FROM queue_job_archive
    WHERE finished_at < now() - $1 * interval '1 millisecond'
    LIMIT $2
)

-- name: pruneFinished
-- index: queue_jobs_finished
-- Deletes discarded and cancelled jobs older than `$1` ms, in batches of `$2`.
--
DELETE FROM queue_jobs
WHERE id IN (
    SELECT id FROM queue_jobs
    WHERE state IN ('discarded', 'cancelled') AND finished_at < now() - $1 * interval '1 millisecond'
    LIMIT $2
)

-- name: deadTuples
-- index: none (statistics view)
-- Dead tuples in the hot table, from the statistics collector (cheap, may lag ~0.5 s).
SELECT coalesce(n_dead_tup, 0) FROM pg_stat_user_tables WHERE relid = 'queue_jobs'::regclass

-- name: ownsHotTable
-- index: none (catalog lookup)
-- Whether the session's user owns the hot table (may VACUUM it). Catalog lookup.
SELECT pg_catalog.pg_has_role(current_user, c.relowner, 'MEMBER')
FROM pg_catalog.pg_class c WHERE c.oid = 'queue_jobs'::regclass

-- name: vacuum
-- index: none (maintenance command)
-- Reclaims the space and index entries of finished jobs (not in a transaction).
VACUUM (SKIP_LOCKED) queue_jobs

-- name: pause
-- index: none (insert; queue_paused_pkey is the conflict arbiter)
INSERT INTO queue_paused (queue) VALUES ($1) ON CONFLICT DO NOTHING

-- name: resume
-- index: queue_paused_pkey
DELETE FROM queue_paused WHERE queue = $1

-- name: pausedQueues
-- index: none (small table)
SELECT queue FROM queue_paused ORDER BY queue

-- name: cancel
-- index: none (calls queue_cancel() of migrations 0010 and 0012, which updates by queue_jobs_pkey)
-- Cancels a job in any unfinished state (waiting included), through `queue_cancel()`, the
-- queue's one cancel path; its dependents are cancelled by the release trigger. A running job's lease is revoked, so its worker's heartbeat learns of it and its
-- late completion is refused.
SELECT id FROM public.queue_cancel($1) AS id

-- name: retry
-- index: queue_jobs_pkey
-- Gives a discarded (or cancelled) job a fresh set of attempts, runnable now.
--
UPDATE queue_jobs
SET state = 'available', attempt = 0, run_at = now(), finished_at = NULL
WHERE id = $1 AND state IN ('discarded', 'cancelled')
RETURNING id

-- name: counts
-- index: none (sequential scans of the small hot table and the archive)
-- Counts per queue and state: unfinished from the hot table, completed from the
-- archive. Sequential scans of the hot table, which stays small.
SELECT queue, state::text AS state, count(*) AS jobs FROM queue_jobs GROUP BY queue, state
UNION ALL
SELECT queue, 'completed', count(*) FROM queue_job_archive GROUP BY queue
ORDER BY 1, 2

-- name: find
-- index: queue_jobs_pkey, queue_job_archive_pkey
-- One job, wherever it is.
SELECT id, queue, kind, payload::text AS payload, priority, state::text AS state, attempt, max_attempts,
       errors::text AS errors, unique_key, run_at, created_at, attempted_at, finished_at, locked_by,
       wait_key, wait_until, concurrency_key, array_to_json(depends_on)::text AS depends_on
FROM queue_jobs WHERE id = $1
UNION ALL
SELECT id, queue, kind, payload::text, priority, state::text, attempt, max_attempts,
       errors::text, unique_key, NULL, created_at, attempted_at, finished_at, locked_by,
       NULL, NULL, NULL, NULL
FROM queue_job_archive WHERE id = $1
