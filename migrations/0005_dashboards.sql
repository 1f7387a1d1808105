-- 0005: dashboards. A stable contract for any dashboard tool: the views of schema
-- `dashboard` (documented column by column in docs/dashboards.md), readable by the role
-- taskforce_dashboard and nothing else.
--
-- Live views (backlog, at risk, workers, queue depth, discarded jobs) read only
-- unfinished rows through partial indexes, so their cost follows the backlog, not the
-- history. Historical aggregates (throughput, time to resolve, escalations, reroutes,
-- rates) read materialized views that the maintenance leader refreshes (CONCURRENTLY,
-- every 30 s by default), so a dashboard query never scans a million finished cases.

-- When a case first got an answer (any outcome, escalation or reroute): for response rates.
ALTER TABLE cases ADD COLUMN first_response_at timestamptz;

CREATE INDEX cases_open_state ON cases (task_force, state) WHERE state IN ('open', 'triage', 'escalated');
CREATE INDEX cases_received_at ON cases (received_at);
CREATE INDEX cases_resolved_at ON cases (resolved_at) WHERE resolved_at IS NOT NULL;
CREATE INDEX case_events_type_at ON case_events (type, at) WHERE type IN ('escalated', 'rerouted', 'deadline_breached');
CREATE INDEX queue_jobs_available_age ON queue_jobs (queue, run_at) WHERE state = 'available';

CREATE SCHEMA dashboard;

-- Backlog per task force and state: unfinished cases, including those escalated to
-- the top of the chain (waiting for the task force's people). The top-escalated ones
-- are counted from the partial index alone (they can pile up); open cases, few by
-- nature, are joined with their jobs to tell running from queued.
CREATE VIEW dashboard.backlog AS
SELECT task_force, state, sum(cases)::bigint AS cases
FROM (
    SELECT c.task_force, 'escalated' AS state, count(*) AS cases
    FROM cases c WHERE c.state = 'escalated'
    GROUP BY 1
    UNION ALL
    SELECT c.task_force,
           CASE WHEN c.state = 'triage' THEN 'triage'
                WHEN j.state = 'running' THEN 'running'
                WHEN c.escalation_level > 0 THEN 'escalated'
                ELSE 'queued' END,
           count(*)
    FROM cases c
    LEFT JOIN queue_jobs j ON j.id = c.current_job_id
    WHERE c.state IN ('open', 'triage')
    GROUP BY 1, 2
) parts
GROUP BY task_force, state;

-- Open cases past their warning point (at risk) or their due time (breached).
CREATE VIEW dashboard.cases_at_risk AS
SELECT c.id AS case_id, c.task_force, c.escalation_level, c.enterprise, c.received_at, c.warn_at, c.due_at,
       round(extract(epoch FROM c.due_at - now()) / 60)::bigint AS minutes_to_due,
       (c.due_at <= now()) AS breached
FROM cases c
WHERE c.state = 'open' AND c.warn_at <= now();

-- Historical aggregates, refreshed by the maintenance leader.
CREATE MATERIALIZED VIEW dashboard.throughput_hourly_mv AS
WITH hours AS (
    SELECT generate_series(date_trunc('hour', now()) - interval '47 hours', date_trunc('hour', now()), interval '1 hour') AS hour),
received AS (
    SELECT date_trunc('hour', received_at) AS hour, task_force, count(*) AS n
    FROM cases WHERE received_at >= date_trunc('hour', now()) - interval '47 hours' AND state <> 'merged'
    GROUP BY 1, 2),
resolved AS (
    SELECT date_trunc('hour', resolved_at) AS hour, task_force, count(*) AS n
    FROM cases WHERE resolved_at >= date_trunc('hour', now()) - interval '47 hours' AND state = 'resolved'
    GROUP BY 1, 2)
SELECT h.hour, tf.task_force, coalesce(r.n, 0)::bigint AS received, coalesce(s.n, 0)::bigint AS resolved
FROM hours h
CROSS JOIN (VALUES ('tax'), ('credit'), ('legal'), ('infrastructure'), ('financing'), ('innovation'), ('foreign'), ('triage')) AS tf(task_force)
LEFT JOIN received r ON r.hour = h.hour AND r.task_force = tf.task_force
LEFT JOIN resolved s ON s.hour = h.hour AND s.task_force = tf.task_force;
CREATE UNIQUE INDEX ON dashboard.throughput_hourly_mv (hour, task_force);

CREATE MATERIALIZED VIEW dashboard.task_force_totals_mv AS
SELECT c.task_force,
       count(*) FILTER (WHERE c.state NOT IN ('merged', 'cancelled'))::bigint AS received,
       count(*) FILTER (WHERE c.first_response_at IS NOT NULL)::bigint AS responded,
       count(*) FILTER (WHERE c.state = 'resolved')::bigint AS resolved,
       count(*) FILTER (WHERE c.state = 'resolved' AND c.resolved_at <= coalesce(c.original_due_at, c.due_at))::bigint AS resolved_on_time,
       count(*) FILTER (WHERE c.state = 'escalated' OR c.escalation_level > 0)::bigint AS escalated,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM c.resolved_at - c.received_at))
           FILTER (WHERE c.state = 'resolved') AS median_resolve_seconds,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM c.resolved_at - c.received_at))
           FILTER (WHERE c.state = 'resolved') AS p90_resolve_seconds
FROM cases c
GROUP BY c.task_force;
CREATE UNIQUE INDEX ON dashboard.task_force_totals_mv (task_force);

CREATE MATERIALIZED VIEW dashboard.event_totals_mv AS
SELECT e.type, c.task_force,
       CASE WHEN e.type = 'escalated' THEN coalesce((e.data->>'to_level')::int, 0) ELSE 0 END AS level,
       CASE WHEN e.type = 'rerouted' THEN coalesce(e.data->>'from', '') ELSE '' END AS rerouted_from,
       count(*)::bigint AS events
FROM case_events e JOIN cases c ON c.id = e.case_id
WHERE e.type IN ('escalated', 'rerouted', 'deadline_breached')
GROUP BY 1, 2, 3, 4;
CREATE UNIQUE INDEX ON dashboard.event_totals_mv (type, task_force, level, rerouted_from);

-- Received and resolved cases per task force and hour, last 48 hours.
CREATE VIEW dashboard.throughput_hourly AS
SELECT hour, task_force, received, resolved FROM dashboard.throughput_hourly_mv;

-- Time to resolve per task force (median and p90, seconds).
CREATE VIEW dashboard.time_to_resolve AS
SELECT task_force, resolved, median_resolve_seconds, p90_resolve_seconds
FROM dashboard.task_force_totals_mv WHERE task_force <> 'triage';

-- Escalations per task force and level reached (3 = escalated at the top).
CREATE VIEW dashboard.escalations AS
SELECT task_force, level, sum(events)::bigint AS escalations
FROM dashboard.event_totals_mv WHERE type = 'escalated' GROUP BY 1, 2;

-- Reroutes away from each task force: the misrouting rate.
CREATE VIEW dashboard.reroutes AS
SELECT t.task_force, t.received,
       coalesce(sum(e.events), 0)::bigint AS rerouted_away,
       round(coalesce(sum(e.events), 0)::numeric / nullif(t.received, 0), 4) AS misrouting_rate
FROM dashboard.task_force_totals_mv t
LEFT JOIN dashboard.event_totals_mv e ON e.type = 'rerouted' AND e.rerouted_from = t.task_force
WHERE t.task_force <> 'triage'
GROUP BY t.task_force, t.received;

-- The three rates operators report.
CREATE VIEW dashboard.rates AS
SELECT task_force, received, responded, resolved, resolved_on_time,
       round(responded::numeric / nullif(received, 0), 4) AS response_rate,
       round(resolved_on_time::numeric / nullif(resolved, 0), 4) AS on_time_resolution_rate,
       round(resolved::numeric / nullif(received, 0), 4) AS resolution_rate
FROM dashboard.task_force_totals_mv WHERE task_force <> 'triage';

-- Deadline breaches per task force.
CREATE VIEW dashboard.breaches AS
SELECT task_force, sum(events)::bigint AS breaches
FROM dashboard.event_totals_mv WHERE type = 'deadline_breached' GROUP BY 1;

-- Worker processes: alive when their last heartbeat is recent and they have not stopped.
CREATE VIEW dashboard.workers AS
SELECT name, host, pid, task_forces, handler, slots, started_at, last_heartbeat_at, stopped_at,
       (stopped_at IS NULL AND last_heartbeat_at > now() - interval '30 seconds') AS alive,
       running_jobs, completed_jobs
FROM workers;

-- Queue depth per queue: jobs by state, and the age of the oldest ready job.
CREATE VIEW dashboard.queue_depth AS
SELECT q.queue,
       (SELECT count(*) FROM queue_jobs j WHERE j.queue = q.queue AND j.state = 'available')::bigint AS available,
       (SELECT count(*) FROM queue_jobs j WHERE j.queue = q.queue AND j.state = 'running')::bigint AS running,
       (SELECT count(*) FROM queue_jobs j WHERE j.queue = q.queue AND j.state IN ('scheduled', 'retryable'))::bigint AS waiting,
       (SELECT count(*) FROM queue_jobs j WHERE j.queue = q.queue AND j.state = 'discarded')::bigint AS discarded,
       coalesce((SELECT extract(epoch FROM now() - min(j.run_at)) FROM queue_jobs j
                 WHERE j.queue = q.queue AND j.state = 'available'), 0)::double precision AS oldest_available_seconds
FROM (VALUES ('tax'), ('credit'), ('legal'), ('infrastructure'), ('financing'), ('innovation'), ('foreign')) AS q(queue);

-- Discarded jobs with their case and last error.
CREATE VIEW dashboard.discarded_jobs AS
SELECT j.id AS job_id, j.queue, j.kind, (j.payload->>'case_id')::bigint AS case_id, j.attempt AS attempts,
       j.finished_at, j.errors->-1->>'error' AS last_error
FROM queue_jobs j WHERE j.state = 'discarded';

-- Refreshes the historical aggregates; the maintenance leader calls it.
CREATE FUNCTION dashboard.refresh() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    REFRESH MATERIALIZED VIEW CONCURRENTLY dashboard.throughput_hourly_mv;
    REFRESH MATERIALIZED VIEW CONCURRENTLY dashboard.task_force_totals_mv;
    REFRESH MATERIALIZED VIEW CONCURRENTLY dashboard.event_totals_mv;
END;
$$;

-- The read-only role for dashboards: the views of schema dashboard, nothing else.
-- NOLOGIN: map real logins to it (docs/operations.md); roles are cluster-wide, so this
-- creates it only when missing.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'taskforce_dashboard') THEN
        CREATE ROLE taskforce_dashboard NOLOGIN;
    END IF;
END;
$$;
REVOKE ALL ON SCHEMA dashboard FROM PUBLIC;
GRANT USAGE ON SCHEMA dashboard TO taskforce_dashboard;
GRANT SELECT ON ALL TABLES IN SCHEMA dashboard TO taskforce_dashboard;
REVOKE ALL ON FUNCTION dashboard.refresh() FROM PUBLIC;
