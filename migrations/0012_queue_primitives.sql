-- 0012: queue primitives — jobs that wait for an event or a time, dependencies between
-- jobs, per-key fairness, and periodic jobs (docs/queue.md, one section each).
--
-- Everything stays in the queue's own tables and functions; QueueCore knows nothing of
-- cases. queue_enqueue() stays the one insert path: it gets new parameters with
-- defaults, so the callers of the old eight-argument form (case_redispatch() of 0010)
-- resolve to the new function unchanged.

-- 1. Columns of the hot table. None of them is touched by a heartbeat (which changes only
-- lease_expires_at and heartbeat_at), so heartbeats stay HOT updates.
ALTER TABLE public.queue_jobs
    -- Waiting for an event: the key a signal names, and when the wait times out (NULL: never).
    ADD COLUMN wait_key text CHECK (wait_key IS NULL OR (wait_key <> '' AND length(wait_key) <= 512)),
    ADD COLUMN wait_until timestamptz,
    -- How the last wait ended ('signal' or 'timeout'), and the signal's data (JSON).
    ADD COLUMN wake_reason text CHECK (wake_reason IN ('signal', 'timeout')),
    ADD COLUMN signal_data jsonb,
    -- Dependencies: the jobs this one waits for (as enqueued), whether it still waits for
    -- some, whether it runs even when one of them was discarded or cancelled, and whether
    -- other jobs depend on this one (set by their enqueue; the release triggers fire only then).
    ADD COLUMN depends_on bigint[],
    ADD COLUMN awaiting_dependencies boolean NOT NULL DEFAULT false,
    ADD COLUMN run_if_dependency_fails boolean NOT NULL DEFAULT false,
    ADD COLUMN has_dependents boolean NOT NULL DEFAULT false,
    -- Fairness: the key (an enterprise, a tenant) and the job's place in its queue's order
    -- (NULL for jobs without a key, which are ordered by run_at as before).
    ADD COLUMN concurrency_key text CHECK (concurrency_key IS NULL OR (concurrency_key <> '' AND length(concurrency_key) <= 256)),
    ADD COLUMN fair_at timestamptz,
    ADD CONSTRAINT queue_jobs_waiting_for_something
        CHECK (state <> 'waiting' OR wait_key IS NOT NULL OR awaiting_dependencies),
    ADD CONSTRAINT queue_jobs_waits_for_one_thing
        CHECK (NOT (awaiting_dependencies AND wait_key IS NOT NULL AND state = 'waiting'));

-- 2. Indexes.
-- The claim orders by priority, then by the fairness position of keyed jobs or the run_at
-- of the others (coalesce(fair_at, run_at)), then id. Same shape and size as before; a
-- job without a key sorts exactly as it did.
DROP INDEX public.queue_jobs_claim;
CREATE INDEX queue_jobs_claim ON public.queue_jobs (queue, priority DESC, (coalesce(fair_at, run_at)), id)
    WHERE state = 'available';
-- A signal finds the jobs waiting for its key.
CREATE INDEX queue_jobs_waiting ON public.queue_jobs (wait_key)
    WHERE state = 'waiting' AND wait_key IS NOT NULL;
-- The leader promotes waits whose timeout passed.
CREATE INDEX queue_jobs_wait_timeout ON public.queue_jobs (wait_until)
    WHERE state = 'waiting' AND wait_until IS NOT NULL;
-- The last place a key holds in its queue (the enqueue of its next job reads it).
CREATE INDEX queue_jobs_concurrency_key ON public.queue_jobs (queue, concurrency_key, fair_at)
    WHERE concurrency_key IS NOT NULL;

-- 3. Dependencies still open: one row per (blocked job, dependency that was unfinished
-- when the job was enqueued). Rows leave when the job is released or cancelled, so the
-- table holds only blocked jobs. `queue` is the blocked job's, for row-level security.
CREATE TABLE public.queue_job_dependencies (
    job_id     bigint NOT NULL,
    depends_on bigint NOT NULL,
    queue      text   NOT NULL,
    PRIMARY KEY (job_id, depends_on)
);
CREATE INDEX queue_job_dependencies_depends_on ON public.queue_job_dependencies (depends_on);

-- 4. Periodic jobs: one row per schedule. The maintenance leader enqueues each once per
-- period, with the unique key periodic:<name>:<period start>, and records the period in
-- last_enqueued_period in the same statement (a compare-and-set), so racing leaders and a
-- period whose job already completed (and left queue_jobs) never enqueue twice.
CREATE TABLE public.queue_periodic (
    name                 text PRIMARY KEY CHECK (name <> '' AND length(name) <= 200),
    queue                text NOT NULL CHECK (queue <> '' AND length(queue) <= 128),
    kind                 text NOT NULL CHECK (kind <> '' AND length(kind) <= 128),
    payload              jsonb NOT NULL DEFAULT '{}',
    priority             smallint NOT NULL DEFAULT 0,
    max_attempts         integer NOT NULL DEFAULT 10 CHECK (max_attempts > 0),
    time_limit_ms        integer CHECK (time_limit_ms IS NULL OR time_limit_ms > 0),
    interval_ms          bigint NOT NULL CHECK (interval_ms >= 1000),
    last_enqueued_period timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);

-- 5. Settling blocked jobs. For each given job still waiting for dependencies, recomputes
-- from the dependencies themselves: any still unfinished → it keeps waiting; any
-- discarded or cancelled → it is cancelled (its own dependents follow, through the
-- trigger below), unless it was enqueued to run anyway; otherwise it becomes available
-- (or scheduled, if its run_at lies ahead) and its queue is notified.
-- The jobs are locked first, in id order: two transactions finishing two dependencies of
-- one job serialise here, and the statements after the lock, each with a fresh snapshot
-- (READ COMMITTED, a volatile function), see what the other committed.
-- Runs as the owner: a dependency's completion releases its dependents whichever queue
-- (and row-level security policy) they are in. It only ever applies the dependencies'
-- actual states, so whoever calls it can release nothing early.
CREATE FUNCTION public.queue_settle_blocked(p_jobs bigint[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r record;
BEGIN
    IF p_jobs IS NULL OR cardinality(p_jobs) = 0 THEN
        RETURN;
    END IF;
    PERFORM 1 FROM public.queue_jobs j
    WHERE j.id = ANY (p_jobs) AND j.state = 'waiting' AND j.awaiting_dependencies
    ORDER BY j.id FOR UPDATE;
    FOR r IN
        SELECT j.id, j.queue, j.run_if_dependency_fails AS run_anyway,
               count(x.id) FILTER (WHERE x.state NOT IN ('discarded', 'cancelled')) AS unfinished,
               min(x.id) FILTER (WHERE x.state IN ('discarded', 'cancelled')) AS failed_id
        FROM public.queue_jobs j
        LEFT JOIN public.queue_job_dependencies d ON d.job_id = j.id
        LEFT JOIN public.queue_jobs x ON x.id = d.depends_on
        WHERE j.id = ANY (p_jobs) AND j.state = 'waiting' AND j.awaiting_dependencies
        GROUP BY j.id
        ORDER BY j.id
    LOOP
        CONTINUE WHEN r.unfinished > 0;
        IF r.failed_id IS NOT NULL AND NOT r.run_anyway THEN
            UPDATE public.queue_jobs j
            SET state = 'cancelled', finished_at = now(), awaiting_dependencies = false,
                errors = j.errors || jsonb_build_array(jsonb_build_object(
                    'attempt', j.attempt, 'at', now(), 'worker', NULL,
                    'error', format('cancelled: dependency %s was %s', r.failed_id,
                                    (SELECT x.state FROM public.queue_jobs x WHERE x.id = r.failed_id))))
            WHERE j.id = r.id;
        ELSE
            UPDATE public.queue_jobs j
            SET awaiting_dependencies = false,
                state = CASE WHEN j.run_at > now() THEN 'scheduled' ELSE 'available' END::public.queue_job_state
            WHERE j.id = r.id;
            PERFORM pg_catalog.pg_notify('queue_jobs', r.queue);
        END IF;
        DELETE FROM public.queue_job_dependencies d WHERE d.job_id = r.id;
    END LOOP;
END;
$$;
REVOKE ALL ON FUNCTION public.queue_settle_blocked(bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.queue_settle_blocked(bigint[]) TO taskforce_dispatcher, taskforce_maintainer, taskforce_worker;

-- A job with dependents finished: completed (the completing DELETE), or discarded or
-- cancelled (any statement that sets those states: fail, rescue, the handler's or an
-- operator's cancel, and the cascade itself). Row triggers with a WHEN clause: for the
-- jobs nobody depends on — the plain claim and completion — the condition is false and
-- nothing runs. They fire at the end of the finishing statement, in its transaction.
CREATE FUNCTION public.queue_jobs_release_dependents() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_id bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        v_id := OLD.id;
    ELSE
        v_id := NEW.id;
    END IF;
    PERFORM public.queue_settle_blocked(ARRAY(
        SELECT d.job_id FROM public.queue_job_dependencies d WHERE d.depends_on = v_id));
    RETURN NULL;
END;
$$;
CREATE TRIGGER queue_jobs_dependency_finished AFTER DELETE ON public.queue_jobs
    FOR EACH ROW WHEN (OLD.has_dependents)
    EXECUTE FUNCTION public.queue_jobs_release_dependents();
CREATE TRIGGER queue_jobs_dependency_failed AFTER UPDATE OF state ON public.queue_jobs
    FOR EACH ROW WHEN (NEW.has_dependents AND NEW.state IN ('discarded', 'cancelled'))
    EXECUTE FUNCTION public.queue_jobs_release_dependents();

-- 6. The one insert path, with the new parameters (all optional, parallel arrays):
--   p_wait_key, p_wait_until        enqueue waiting for a signal of that key, until then at most
--   p_concurrency_key               the fairness key
--   p_depends_on                    a JSON array of job ids per job (NULL or [] for none)
--   p_run_if_dependency_fails       run even when a dependency is discarded or cancelled
DROP FUNCTION public.queue_enqueue(text[], text[], jsonb[], smallint[], timestamptz[], integer[], text[], integer[]);
CREATE FUNCTION public.queue_enqueue(
    p_queue text[], p_kind text[], p_payload jsonb[], p_priority smallint[], p_run_at timestamptz[],
    p_max_attempts integer[], p_unique_key text[], p_time_limit_ms integer[],
    p_wait_key text[] DEFAULT NULL, p_wait_until timestamptz[] DEFAULT NULL, p_concurrency_key text[] DEFAULT NULL,
    p_depends_on jsonb[] DEFAULT NULL, p_run_if_dependency_fails boolean[] DEFAULT NULL
) RETURNS TABLE (id bigint, unique_key text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    -- A key's consecutive jobs are this far apart in the queue's order.
    v_stride constant interval := interval '1 millisecond';
    v_deps bigint[];
    v_held bigint[];
    v_unknown bigint;
    v_fair timestamptz[];
    v_ids bigint[];
    v_keys text[];
    v_blocked bigint[];
BEGIN
    -- Plain jobs (no wait, no fairness key, no dependencies): the statement of 0010,
    -- unchanged, so the common path costs what it did.
    IF p_wait_key IS NULL AND p_concurrency_key IS NULL AND p_depends_on IS NULL THEN
        RETURN QUERY
        INSERT INTO public.queue_jobs AS j (queue, kind, payload, priority, run_at, state, max_attempts, unique_key, time_limit_ms)
        SELECT i.queue, i.kind, i.payload, i.priority, coalesce(i.run_at, now()),
               CASE WHEN i.run_at IS NULL OR i.run_at <= now() THEN 'available' ELSE 'scheduled' END::public.queue_job_state,
               i.max_attempts, i.unique_key, i.time_limit_ms
        FROM unnest(p_queue, p_kind, p_payload, p_priority, p_run_at, p_max_attempts, p_unique_key, p_time_limit_ms)
             WITH ORDINALITY AS i(queue, kind, payload, priority, run_at, max_attempts, unique_key, time_limit_ms, n)
        ORDER BY i.n
        ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND state NOT IN ('discarded', 'cancelled')
        DO NOTHING
        RETURNING j.id, j.unique_key;
        RETURN;
    END IF;

    -- Dependencies. Each one still in the hot table is marked (has_dependents) by an
    -- UPDATE, which also locks it: a dependency finishing concurrently either committed
    -- before (then it is not found here, and its archive row is) or waits for this
    -- transaction and then, in its release trigger, sees the links written below.
    IF p_depends_on IS NOT NULL THEN
        SELECT array_agg(DISTINCT e.value::bigint) INTO v_deps
        FROM unnest(p_depends_on) AS d(list)
        CROSS JOIN LATERAL jsonb_array_elements_text(
            CASE WHEN jsonb_typeof(d.list) = 'array' THEN d.list ELSE '[]'::jsonb END) AS e(value);
    END IF;
    IF v_deps IS NOT NULL THEN
        WITH marked AS (
            UPDATE public.queue_jobs j SET has_dependents = true
            WHERE j.id = ANY (v_deps)
            RETURNING j.id)
        SELECT array_agg(marked.id) INTO v_held FROM marked;
        v_held := coalesce(v_held, '{}');
        -- A dependency in the archive has completed: already satisfied.
        SELECT min(d.dep) INTO v_unknown FROM unnest(v_deps) AS d(dep)
        WHERE NOT d.dep = ANY (v_held)
          AND NOT EXISTS (SELECT 1 FROM public.queue_job_archive a WHERE a.id = d.dep);
        IF v_unknown IS NOT NULL THEN
            RAISE EXCEPTION 'queue_enqueue: dependency % is not a known job', v_unknown
                USING ERRCODE = 'foreign_key_violation';
        END IF;
    END IF;

    -- Fairness positions (only when some job has a key): a key's first job starts at the
    -- head of its queue (the first available job in claim order; now() when none is
    -- available), each further job one stride after that key's last, so a key that floods
    -- the queue sorts behind a key that arrives later, without any per-claim bookkeeping.
    IF p_concurrency_key IS NOT NULL AND EXISTS (SELECT 1 FROM unnest(p_concurrency_key) AS k(key) WHERE k.key IS NOT NULL) THEN
        WITH input AS (
            SELECT i.queue, i.key, i.run_at, i.n
            FROM unnest(p_queue, p_concurrency_key, p_run_at) WITH ORDINALITY AS i(queue, key, run_at, n)
        ),
        keys AS (
            SELECT k.queue, k.key,
                   (SELECT j.fair_at FROM public.queue_jobs j
                    WHERE j.queue = k.queue AND j.concurrency_key = k.key AND j.fair_at IS NOT NULL
                    ORDER BY j.fair_at DESC LIMIT 1) AS last_at,
                   (SELECT coalesce(j.fair_at, j.run_at) FROM public.queue_jobs j
                    WHERE j.queue = k.queue AND j.state = 'available'
                    ORDER BY j.priority DESC, coalesce(j.fair_at, j.run_at), j.id LIMIT 1) AS head_at
            FROM (SELECT DISTINCT input.queue, input.key FROM input WHERE input.key IS NOT NULL) k
        ),
        placed AS (
            SELECT input.n,
                   CASE WHEN input.key IS NULL THEN NULL ELSE greatest(
                       CASE WHEN keys.head_at IS NULL THEN greatest(keys.last_at + v_stride, now())
                            ELSE greatest(keys.last_at + v_stride, keys.head_at) END
                       + (row_number() OVER (PARTITION BY input.queue, input.key ORDER BY input.n) - 1) * v_stride,
                       input.run_at) END AS fair_at
            FROM input LEFT JOIN keys ON keys.queue = input.queue AND keys.key = input.key
        )
        SELECT array_agg(placed.fair_at ORDER BY placed.n) INTO v_fair FROM placed;
    END IF;

    -- In input order (identity ids ascend with input position). A job whose unique key is
    -- already held by an unfinished job is skipped: no row comes back for it.
    WITH ins AS (
        INSERT INTO public.queue_jobs AS j (queue, kind, payload, priority, run_at, state, max_attempts, unique_key, time_limit_ms,
                                            wait_key, wait_until, concurrency_key, fair_at, depends_on,
                                            awaiting_dependencies, run_if_dependency_fails)
        SELECT i.queue, i.kind, i.payload, i.priority, coalesce(i.run_at, now()),
               CASE WHEN i.wait_key IS NOT NULL OR i.blocked THEN 'waiting'
                    WHEN i.run_at IS NULL OR i.run_at <= now() THEN 'available'
                    ELSE 'scheduled' END::public.queue_job_state,
               i.max_attempts, i.unique_key, i.time_limit_ms,
               i.wait_key, i.wait_until, i.concurrency_key, i.fair_at,
               CASE WHEN i.blocked THEN ARRAY(SELECT e.value::bigint FROM jsonb_array_elements_text(i.depends_on) AS e(value)) END,
               i.blocked, coalesce(i.run_anyway, false)
        FROM (
            SELECT u.*, (jsonb_typeof(u.depends_on) = 'array' AND jsonb_array_length(u.depends_on) > 0) IS TRUE AS blocked
            FROM unnest(p_queue, p_kind, p_payload, p_priority, p_run_at, p_max_attempts, p_unique_key, p_time_limit_ms,
                        p_wait_key, p_wait_until, p_concurrency_key, v_fair, p_depends_on, p_run_if_dependency_fails)
                 WITH ORDINALITY AS u(queue, kind, payload, priority, run_at, max_attempts, unique_key, time_limit_ms,
                                      wait_key, wait_until, concurrency_key, fair_at, depends_on, run_anyway, n)
        ) i
        ORDER BY i.n
        ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND state NOT IN ('discarded', 'cancelled')
        DO NOTHING
        RETURNING j.id, j.unique_key, j.queue, j.depends_on, j.awaiting_dependencies
    ),
    -- Only dependencies still in the hot table need a link; archived ones are satisfied.
    links AS (
        INSERT INTO public.queue_job_dependencies (job_id, depends_on, queue)
        SELECT DISTINCT ins.id, d.dep, ins.queue
        FROM ins CROSS JOIN LATERAL unnest(ins.depends_on) AS d(dep)
        WHERE ins.awaiting_dependencies AND d.dep = ANY (v_held)
    )
    SELECT array_agg(ins.id ORDER BY ins.id), array_agg(ins.unique_key ORDER BY ins.id),
           array_agg(ins.id ORDER BY ins.id) FILTER (WHERE ins.awaiting_dependencies)
    INTO v_ids, v_keys, v_blocked
    FROM ins;

    -- Jobs whose dependencies all finished already run at once (or are cancelled, when
    -- one of them failed).
    IF v_blocked IS NOT NULL THEN
        PERFORM public.queue_settle_blocked(v_blocked);
    END IF;
    RETURN QUERY SELECT r.id, r.unique_key FROM unnest(v_ids, v_keys) AS r(id, unique_key);
END;
$$;

-- The one cancel path: waiting jobs can be cancelled too, and a blocked job's open
-- dependencies go with it.
CREATE OR REPLACE FUNCTION public.queue_cancel(p_job bigint) RETURNS SETOF bigint
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    -- A running job's lease is revoked: its worker's heartbeat learns of it, and its late
    -- completion is refused. Nothing comes back when the job is finished or unknown.
    WITH cancelled AS (
        UPDATE public.queue_jobs
        SET state = 'cancelled', finished_at = now(), lease_token = NULL, lease_expires_at = NULL, locked_by = NULL,
            awaiting_dependencies = false
        WHERE id = p_job AND state IN ('available', 'scheduled', 'waiting', 'running', 'retryable')
        RETURNING id
    ),
    unlinked AS (
        DELETE FROM public.queue_job_dependencies d WHERE d.job_id IN (SELECT cancelled.id FROM cancelled)
    )
    SELECT cancelled.id FROM cancelled
$$;

-- 7. Privileges and row-level security of the new tables, as for queue_jobs (0007, 0008):
-- dispatcher and maintainer see every queue, a department's worker only its own.
GRANT SELECT, INSERT, DELETE ON public.queue_job_dependencies TO taskforce_dispatcher, taskforce_maintainer, taskforce_worker;
ALTER TABLE public.queue_job_dependencies ENABLE ROW LEVEL SECURITY;
CREATE POLICY everything ON public.queue_job_dependencies TO taskforce_dispatcher, taskforce_maintainer
    USING (true) WITH CHECK (true);
CREATE POLICY own_task_force ON public.queue_job_dependencies TO taskforce_worker
    USING (public.taskforce_may_access(queue)) WITH CHECK (public.taskforce_may_access(queue));

-- Schedules are the operators' (dispatcher) and the leader's (maintainer); a department's
-- worker may read those of its own queue. (Its logins never lead maintenance, and their
-- jobs may carry only case keys, 0008.)
GRANT SELECT, INSERT, UPDATE, DELETE ON public.queue_periodic TO taskforce_dispatcher, taskforce_maintainer;
GRANT SELECT ON public.queue_periodic TO taskforce_worker;
ALTER TABLE public.queue_periodic ENABLE ROW LEVEL SECURITY;
CREATE POLICY everything ON public.queue_periodic TO taskforce_dispatcher, taskforce_maintainer
    USING (true) WITH CHECK (true);
CREATE POLICY own_task_force ON public.queue_periodic TO taskforce_worker
    USING (public.taskforce_may_access(queue));
