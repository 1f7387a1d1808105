-- 0009: hard cases (docs/reliability.md): imports idempotent by content, statement
-- timeouts per login, heartbeat age of every running attempt, dashboards fresh without
-- a running worker.

-- 1. Import idempotency by content. A row imported without an external id is keyed by
-- the SHA-256 of its content (enterprise, normalised text, received time when given;
-- computed by the importer's insert, docs/dispatcher.md "Importing twice"), so a second
-- import of the same file, or the importer's own retry after an uncertain COMMIT,
-- finds the case instead of storing it again. NULL for cases taken in one by one.
ALTER TABLE public.cases ADD COLUMN content_key text UNIQUE
    CHECK (content_key IS NULL OR content_key ~ '^[0-9a-f]{64}$');
COMMENT ON COLUMN public.cases.content_key IS
    'Hex SHA-256 of an imported row''s content when it had no external_id (import idempotency).';

-- 2. Timeouts per login. PostgreSQL applies ALTER ROLE … SET to the login itself, never
-- through membership of a group role, so the settings live here per group and are
-- applied to each login by public.apply_login_settings(login): below for the logins that
-- exist, by `dispatcher roles login` for new ones. They are set IN DATABASE (this
-- database only): a login may also work elsewhere in the cluster under other rules. statement_timeout bounds any
-- statement (a runaway query, a lock wait behind a stuck session);
-- idle_in_transaction_session_timeout ends a session that stopped talking inside a
-- transaction (a partitioned or frozen client), releasing its row locks.
CREATE TABLE public.login_settings (
    group_role text NOT NULL,
    setting    text NOT NULL CHECK (setting IN ('statement_timeout', 'idle_in_transaction_session_timeout', 'lock_timeout')),
    value      text NOT NULL,
    PRIMARY KEY (group_role, setting)
);
COMMENT ON TABLE public.login_settings IS
    'Session settings every login of a group role gets (apply_login_settings); edit and re-apply to change them.';
INSERT INTO public.login_settings (group_role, setting, value) VALUES
    ('taskforce_worker', 'statement_timeout', '30s'),
    ('taskforce_worker', 'idle_in_transaction_session_timeout', '60s'),
    ('taskforce_maintainer', 'statement_timeout', '120s'),
    ('taskforce_maintainer', 'idle_in_transaction_session_timeout', '60s'),
    ('taskforce_dispatcher', 'statement_timeout', '300s'),
    ('taskforce_dispatcher', 'idle_in_transaction_session_timeout', '60s'),
    ('taskforce_dashboard', 'statement_timeout', '30s'),
    ('taskforce_dashboard', 'idle_in_transaction_session_timeout', '60s');

-- Applies the settings of every group `p_login` belongs to (the strictest value wins
-- when two groups set the same one). Run by an administrator (it issues ALTER ROLE).
CREATE FUNCTION public.apply_login_settings(p_login name) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    item record;
    applied integer := 0;
BEGIN
    FOR item IN
        SELECT s.setting, (array_agg(s.value ORDER BY
                   extract(epoch FROM s.value::interval)))[1] AS value
        FROM public.login_settings s
        WHERE pg_catalog.pg_has_role(p_login, s.group_role, 'MEMBER')
          AND p_login::text OPERATOR(pg_catalog.<>) s.group_role
        GROUP BY s.setting
    LOOP
        EXECUTE pg_catalog.format('ALTER ROLE %I IN DATABASE %I SET %I = %L',
            p_login, pg_catalog.current_database(), item.setting, item.value);
        applied := applied + 1;
    END LOOP;
    RETURN applied;
END;
$$;
REVOKE ALL ON FUNCTION public.apply_login_settings(name) FROM PUBLIC;

DO $$
DECLARE
    login name;
BEGIN
    FOR login IN
        SELECT r.rolname FROM pg_catalog.pg_roles r
        WHERE r.rolcanlogin AND NOT r.rolsuper
          AND EXISTS (SELECT 1 FROM public.login_settings s WHERE pg_catalog.pg_has_role(r.oid, s.group_role, 'MEMBER'))
    LOOP
        PERFORM public.apply_login_settings(login);
    END LOOP;
END;
$$;

-- 3. Heartbeat age of every running attempt. The claim and each heartbeat stamp
-- heartbeat_at (no index on it, so heartbeats stay HOT updates).
ALTER TABLE public.queue_jobs ADD COLUMN heartbeat_at timestamptz;

-- Running attempts and what their heartbeats say:
--   silent      the lease expired: the worker stopped heartbeating (killed, frozen by
--               SIGSTOP, cut off); the leader rescues the job, and the worker's own
--               self-fencing has already cancelled its handler;
--   overrunning the worker heartbeats but the attempt runs past its time limit: the
--               handler is alive and ignoring its limit (stuck-but-alive);
--   ok          otherwise.
-- Index: queue_jobs_running (the running set is small).
CREATE VIEW dashboard.running_attempts AS
SELECT j.id AS job_id, j.queue, (j.payload->>'case_id')::bigint AS case_id, j.attempt, j.locked_by AS worker,
       j.attempted_at, j.heartbeat_at,
       round(extract(epoch FROM now() - coalesce(j.heartbeat_at, j.attempted_at))::numeric, 1)::double precision AS heartbeat_age_seconds,
       round(extract(epoch FROM now() - j.attempted_at)::numeric, 1)::double precision AS running_seconds,
       j.time_limit_ms / 1000.0 AS time_limit_seconds,
       CASE WHEN j.lease_expires_at < now() THEN 'silent'
            WHEN j.time_limit_ms IS NOT NULL AND j.attempted_at < now() - j.time_limit_ms * interval '1 millisecond' THEN 'overrunning'
            ELSE 'ok' END AS status
FROM public.queue_jobs j
WHERE j.state = 'running';

-- Handlers a worker has given up on (past their time limit or their lease, still not
-- returned): the runtime counts them, each heartbeat writes the count.
ALTER TABLE public.workers ADD COLUMN stuck_handlers integer NOT NULL DEFAULT 0;
CREATE OR REPLACE VIEW dashboard.workers AS
SELECT name, host, pid, task_forces, handler, slots, started_at, last_heartbeat_at, stopped_at,
       (stopped_at IS NULL AND last_heartbeat_at > now() - interval '30 seconds') AS alive,
       running_jobs, completed_jobs, stuck_handlers
FROM public.workers;

-- 4. Dashboards fresh without a running worker. refresh() stamps when it ran; every
-- figure from the materialized views carries that time (dashboard.freshness).
-- refresh_if_stale() lets the dashboard itself refresh, at most once per p_max_age and
-- by one caller at a time (others read what is there), so figures are at most
-- p_max_age plus one refresh old whether or not any worker runs.
CREATE TABLE dashboard.refreshed (
    only_row     boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    refreshed_at timestamptz NOT NULL,
    took_ms      double precision NOT NULL DEFAULT 0
);
INSERT INTO dashboard.refreshed (refreshed_at) VALUES (now());

CREATE OR REPLACE FUNCTION dashboard.refresh() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    started timestamptz := pg_catalog.clock_timestamp();
BEGIN
    REFRESH MATERIALIZED VIEW CONCURRENTLY dashboard.throughput_hourly_mv;
    REFRESH MATERIALIZED VIEW CONCURRENTLY dashboard.task_force_totals_mv;
    REFRESH MATERIALIZED VIEW CONCURRENTLY dashboard.event_totals_mv;
    -- The views show the data as of the start of this transaction's snapshot.
    UPDATE dashboard.refreshed
    SET refreshed_at = pg_catalog.now(),
        took_ms = extract(epoch FROM pg_catalog.clock_timestamp() - started) * 1000;
END;
$$;

-- Returns the as-of time of the views after refreshing them when older than p_max_age_ms.
CREATE FUNCTION dashboard.refresh_if_stale(p_max_age_ms integer) RETURNS timestamptz
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    as_of timestamptz;
BEGIN
    IF p_max_age_ms IS NULL OR p_max_age_ms < 1000 THEN
        RAISE EXCEPTION 'p_max_age_ms must be at least 1000' USING ERRCODE = '22023';
    END IF;
    SELECT r.refreshed_at INTO as_of FROM dashboard.refreshed r;
    IF as_of < pg_catalog.now() - p_max_age_ms * interval '1 millisecond'
       AND pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('dashboard.refresh')) THEN
        -- Checked again under the lock: another caller may just have refreshed.
        SELECT r.refreshed_at INTO as_of FROM dashboard.refreshed r;
        IF as_of < pg_catalog.now() - p_max_age_ms * interval '1 millisecond' THEN
            PERFORM dashboard.refresh();
            SELECT r.refreshed_at INTO as_of FROM dashboard.refreshed r;
        END IF;
    END IF;
    RETURN as_of;
END;
$$;
REVOKE ALL ON FUNCTION dashboard.refresh_if_stale(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dashboard.refresh_if_stale(integer) TO taskforce_dashboard, taskforce_maintainer;

-- When the historical figures were computed; live views are as of the query.
CREATE VIEW dashboard.freshness AS
SELECT refreshed_at AS aggregates_as_of, took_ms AS last_refresh_ms,
       round(extract(epoch FROM now() - refreshed_at)::numeric, 1)::double precision AS aggregates_age_seconds
FROM dashboard.refreshed;

GRANT SELECT ON dashboard.running_attempts, dashboard.freshness, dashboard.refreshed, dashboard.workers TO taskforce_dashboard;
GRANT SELECT ON dashboard.running_attempts, dashboard.freshness TO taskforce_maintainer;
