-- 0002: QueueCore, the generic job queue.
-- Reasoning (states, indexes, fillfactor, archive): docs/queue.md.

CREATE TYPE queue_job_state AS ENUM (
    'available',  -- ready to be claimed now
    'scheduled',  -- waits for run_at (enqueued for later, or snoozed)
    'running',    -- claimed under a lease
    'retryable',  -- failed, waits for its backoff to pass
    'completed',  -- done (only in queue_job_archive)
    'discarded',  -- failed its last attempt (errors kept)
    'cancelled'   -- cancelled by an operator or its handler
);

-- The hot table: only unfinished work (plus discarded/cancelled rows until pruned).
-- Completed jobs leave it in the statement that completes them.
CREATE TABLE queue_jobs (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    queue            text            NOT NULL CHECK (queue <> '' AND length(queue) <= 128),
    kind             text            NOT NULL CHECK (kind <> '' AND length(kind) <= 128),
    payload          jsonb           NOT NULL DEFAULT '{}',
    -- Higher runs first; escalations raise it.
    priority         smallint        NOT NULL DEFAULT 0,
    run_at           timestamptz     NOT NULL DEFAULT now(),
    state            queue_job_state NOT NULL DEFAULT 'available',
    attempt          integer         NOT NULL DEFAULT 0,
    max_attempts     integer         NOT NULL DEFAULT 10 CHECK (max_attempts > 0),
    -- The lease: who holds the job, with which token, until when.
    lease_token      uuid,
    lease_expires_at timestamptz,
    locked_by        text,
    -- Execution time limit of one attempt; NULL = the worker's default for the queue.
    time_limit_ms    integer CHECK (time_limit_ms IS NULL OR time_limit_ms > 0),
    -- One entry per failed attempt: {"attempt", "at", "error", "worker"}.
    errors           jsonb           NOT NULL DEFAULT '[]',
    unique_key       text,
    created_at       timestamptz     NOT NULL DEFAULT now(),
    attempted_at     timestamptz,
    finished_at      timestamptz,
    CHECK (state <> 'completed'),
    CHECK (state <> 'running' OR (lease_token IS NOT NULL AND lease_expires_at IS NOT NULL))
) WITH (fillfactor = 80);

-- The claim: ready rows only, queue first, in claim order.
CREATE INDEX queue_jobs_claim ON queue_jobs (queue, priority DESC, run_at, id)
    WHERE state = 'available';
-- The promotion of due scheduled and retryable jobs (maintenance leader).
CREATE INDEX queue_jobs_due ON queue_jobs (run_at)
    WHERE state IN ('scheduled', 'retryable');
-- Rescue of expired leases: the running set is small; lease_expires_at is deliberately
-- not indexed so that heartbeats stay HOT updates.
CREATE INDEX queue_jobs_running ON queue_jobs (id) WHERE state = 'running';
-- Pruning of discarded and cancelled jobs after their retention.
CREATE INDEX queue_jobs_finished ON queue_jobs (finished_at)
    WHERE state IN ('discarded', 'cancelled');
-- A repeated enqueue with the same key returns the existing job while that job is
-- unfinished (completed jobs have left the table; discarded/cancelled ones do not block).
CREATE UNIQUE INDEX queue_jobs_unique_key ON queue_jobs (unique_key)
    WHERE unique_key IS NOT NULL AND state NOT IN ('discarded', 'cancelled');

-- Completed jobs, append-only (no updates, so no bloat), pruned by finished_at.
CREATE TABLE queue_job_archive (
    id            bigint          PRIMARY KEY,
    queue         text            NOT NULL,
    kind          text            NOT NULL,
    payload       jsonb           NOT NULL,
    priority      smallint        NOT NULL,
    state         queue_job_state NOT NULL,
    attempt       integer         NOT NULL,
    max_attempts  integer         NOT NULL,
    errors        jsonb           NOT NULL,
    unique_key    text,
    locked_by     text,
    created_at    timestamptz     NOT NULL,
    attempted_at  timestamptz,
    finished_at   timestamptz     NOT NULL
);
CREATE INDEX queue_job_archive_finished ON queue_job_archive USING brin (finished_at);

-- Paused queues are not claimed from.
CREATE TABLE queue_paused (
    queue     text PRIMARY KEY,
    paused_at timestamptz NOT NULL DEFAULT now()
);

-- One row: who runs maintenance (rescue, promotion, pruning) until when.
CREATE TABLE queue_leader (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    holder     text        NOT NULL,
    elected_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);

-- Wake idle workers when ready jobs arrive, whatever inserted them (INSERT or COPY).
-- One notification per queue per statement; PostgreSQL also folds identical
-- notifications within a transaction.
CREATE FUNCTION queue_jobs_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    name text;
BEGIN
    FOR name IN SELECT DISTINCT queue FROM inserted WHERE state = 'available' LOOP
        PERFORM pg_notify('queue_jobs', name);
    END LOOP;
    RETURN NULL;
END;
$$;

CREATE TRIGGER queue_jobs_notify AFTER INSERT ON queue_jobs
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION queue_jobs_notify();
