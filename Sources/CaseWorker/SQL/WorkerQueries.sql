-- The worker's own statements: the facts a handler reads, the dashboards' refresh and the
-- worker registry. A case's transitions are the case ledger's (CaseLedger/SQL/LifecycleQueries.sql).

-- name: caseFacts
-- index: cases_pkey
-- The facts a handler needs.
SELECT id, text, task_force, language, escalation_level, repeat_count, routing_source, enterprise, contact,
       channel::text AS channel, kind, urgent, received_at, due_at, state::text AS state, current_job_id
FROM cases WHERE id = $1

-- name: refreshDashboards
-- index: none (calls dashboard.refresh_if_stale() of migration 0009)
-- Refreshes the dashboards' aggregates unless someone (a dashboard server) did within
-- `$1` ms; one refresher at a time.
SELECT dashboard.refresh_if_stale($1)

-- name: registerWorker
-- index: none (insert; workers_pkey is the conflict arbiter)
-- Registers (or re-registers) a worker process by name.
INSERT INTO workers (name, host, pid, task_forces, handler, slots)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (name) DO UPDATE
SET host = EXCLUDED.host, pid = EXCLUDED.pid, task_forces = EXCLUDED.task_forces, handler = EXCLUDED.handler,
    slots = EXCLUDED.slots, started_at = now(), last_heartbeat_at = now(), stopped_at = NULL,
    running_jobs = 0, completed_jobs = 0

-- name: workerHeartbeat
-- index: workers_pkey
-- The worker's liveness and counts.
UPDATE workers SET last_heartbeat_at = now(), running_jobs = $2, completed_jobs = $3, stuck_handlers = $4 WHERE name = $1

-- name: workerStopped
-- index: workers_pkey
-- The worker stopped: its final completed count stays.
UPDATE workers SET stopped_at = now(), last_heartbeat_at = now(), running_jobs = 0, stuck_handlers = 0,
       completed_jobs = greatest(completed_jobs, $2)
WHERE name = $1
