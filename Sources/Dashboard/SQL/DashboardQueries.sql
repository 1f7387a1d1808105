-- The dashboard's reads: only the views of schema `dashboard` (so the read-only role
-- `taskforce_dashboard` suffices). See docs/dashboards.md for their columns.

-- name: backlog
-- index: none (a view of schema dashboard, see migrations/0005 and 0009)
SELECT task_force, state, cases FROM dashboard.backlog

-- name: atRisk
-- index: none (a view of schema dashboard, see migrations/0005 and 0009)
SELECT task_force, count(*) FILTER (WHERE NOT breached) AS at_risk, count(*) FILTER (WHERE breached) AS breached
FROM dashboard.cases_at_risk GROUP BY task_force

-- name: atRiskCases
-- index: none (a view of schema dashboard, see migrations/0005 and 0009)
SELECT case_id, task_force, escalation_level, enterprise, due_at, minutes_to_due, breached
FROM dashboard.cases_at_risk ORDER BY due_at LIMIT 20

-- name: throughput
-- index: none (a view of schema dashboard, see migrations/0005 and 0009)
SELECT hour, task_force, received, resolved FROM dashboard.throughput_hourly ORDER BY hour, task_force

-- name: timeToResolve
-- index: none (a view of schema dashboard, see migrations/0005 and 0009)
SELECT task_force, resolved, median_resolve_seconds, p90_resolve_seconds FROM dashboard.time_to_resolve

-- name: escalations
-- index: none (a view of schema dashboard, see migrations/0005 and 0009)
SELECT task_force, level, escalations FROM dashboard.escalations

-- name: reroutes
-- index: none (a view of schema dashboard, see migrations/0005 and 0009)
SELECT task_force, rerouted_away, misrouting_rate::float8 AS misrouting_rate FROM dashboard.reroutes

-- name: rates
-- index: none (a view of schema dashboard, see migrations/0005 and 0009)
SELECT task_force, received, responded, resolved, resolved_on_time,
       response_rate::float8 AS response_rate, on_time_resolution_rate::float8 AS on_time_resolution_rate,
       resolution_rate::float8 AS resolution_rate
FROM dashboard.rates

-- name: breaches
-- index: none (a view of schema dashboard, see migrations/0005 and 0009)
SELECT task_force, breaches FROM dashboard.breaches

-- name: refreshIfStale
-- index: none (a view of schema dashboard, see migrations/0005 and 0009)
-- Refreshes the historical aggregates when older than `$1` ms; returns their as-of time.
SELECT dashboard.refresh_if_stale($1) AS as_of

-- name: freshness
-- index: none (a view of schema dashboard, see migrations/0005 and 0009)
SELECT aggregates_as_of FROM dashboard.freshness

-- name: troubledAttempts
-- index: none (a view of schema dashboard, see migrations/0005 and 0009)
SELECT job_id, queue, case_id, worker, heartbeat_age_seconds, running_seconds, status
FROM dashboard.running_attempts WHERE status <> 'ok'
ORDER BY heartbeat_age_seconds DESC LIMIT 20

-- name: workers
-- index: none (a view of schema dashboard, see migrations/0005 and 0009)
SELECT name, host, pid, array_to_string(task_forces, ',') AS task_forces, handler, slots, last_heartbeat_at, alive,
       running_jobs, completed_jobs, stuck_handlers, stopped_at
FROM dashboard.workers WHERE stopped_at IS NULL OR stopped_at > now() - interval '1 hour'
ORDER BY alive DESC, name LIMIT 200

-- name: queueDepth
-- index: none (a view of schema dashboard, see migrations/0005 and 0009)
SELECT queue, available, running, waiting, discarded, oldest_available_seconds FROM dashboard.queue_depth

-- name: discarded
-- index: none (a view of schema dashboard, see migrations/0005 and 0009)
SELECT job_id, queue, case_id, attempts, finished_at, last_error FROM dashboard.discarded_jobs ORDER BY finished_at DESC NULLS LAST LIMIT 20

-- name: isDashboardReader
-- index: none (catalog lookup)
-- Whether the session's login is a member of role `$1` and not a superuser (superusers
-- are members of every role, and have no business reading a dashboard over the network).
SELECT pg_catalog.pg_has_role(session_user, $1, 'MEMBER') AND NOT r.rolsuper
FROM pg_catalog.pg_roles r WHERE r.rolname = session_user

-- name: ping
-- index: none (no table)
-- The health check's round trip.
SELECT 1

-- name: caseworkMonth
-- index: none (views of schema dashboard over case_events_casework, see migrations/0014)
-- This month's casework KPIs per task force (docs/dashboards.md, "Casework KPIs"), with
-- the ranking's score and rank.
SELECT k.task_force, k.held, k.signoffs, k.signoffs_on_time, k.answers, k.answers_on_time, k.callbacks,
       k.satisfied, k.basically_satisfied, k.unsatisfied, k.returns, k.redos, k.supervised, k.supervised_on_breach, k.chased,
       k.response_rate, k.resolution_rate, k.satisfaction_rate, k.return_rate, k.redo_rate, r.score, r.rank::int AS rank
FROM dashboard.casework_kpis k
JOIN dashboard.casework_ranking r ON r.month = k.month AND r.task_force = k.task_force
WHERE k.month = date_trunc('month', now())
