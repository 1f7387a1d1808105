-- The case ledger's reads and intake writes. Transitions of a case are in LifecycleQueries.sql.

-- name: existingExternalIDs
-- index: cases_external_id_key
-- Cases already taken in under these external ids.
SELECT external_id, id, task_force FROM cases WHERE external_id = ANY($1::text[])

-- name: openCasesOfEnterprises
-- index: cases_enterprise_open
-- Open cases of these enterprises received within the window (`$2` ms), for
-- repeated-demand linking.
SELECT id, enterprise, text FROM cases
WHERE enterprise = ANY($1::text[]) AND state IN ('open', 'triage')
  AND received_at > now() - $2 * interval '1 millisecond'
ORDER BY received_at DESC

-- name: existingContentKeys
-- index: cases_content_key_key
-- Cases whose content key is the SHA-256 of one of these sources ($1), with the
-- source.
SELECT s.source, c.id, c.task_force
FROM unnest($1::text[]) AS s(source)
JOIN cases c ON c.content_key = encode(sha256(convert_to(s.source, 'UTF8')), 'hex')

-- name: insertCases
-- index: none (insert; cases_external_id_key and cases_content_key_key are the conflict arbiters)
-- Inserts a batch of cases in input order; a repeated external id or content key is
-- skipped (the caller resolves it to the stored case). `$19` is each row's content
-- key source (NULL for none); the key stored is its hex SHA-256, and each inserted
-- row is returned with its source.
-- `cases_content_key_key` (conflict arbiters).
WITH input AS (
    SELECT i.*, encode(sha256(convert_to(i.content_source, 'UTF8')), 'hex') AS content_key
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[],
                $8::text[], $9::real[], $10::text[], $11::jsonb[], $12::text[], $13::boolean[], $14::text[],
                $15::timestamptz[], $16::timestamptz[], $17::text[], $18::bigint[], $19::text[])
         WITH ORDINALITY AS i(external_id, text, enterprise, contact, channel, language, received_at, task_force,
                              confidence, routing_source, routing_terms, kind, urgent, state, due_at, warn_at,
                              deadline_rule, duplicate_of, content_source, n)
), inserted AS (
    INSERT INTO cases (external_id, text, enterprise, contact, channel, language, received_at, task_force,
                       confidence, routing_source, routing_terms, kind, urgent, state, original_due_at, due_at,
                       warn_at, deadline_rule, duplicate_of, content_key)
    SELECT external_id, text, enterprise, contact, channel::case_channel, language, coalesce(received_at, now()),
           task_force, confidence, routing_source, routing_terms, kind, urgent, state::case_state,
           due_at, due_at, warn_at, deadline_rule, duplicate_of, content_key
    FROM input
    ORDER BY n
    ON CONFLICT DO NOTHING
    RETURNING id, external_id, content_key
)
SELECT inserted.id, inserted.external_id, input.content_source
FROM inserted LEFT JOIN input ON inserted.content_key = input.content_key

-- name: insertEvents
-- index: none (append)
-- Appends ledger events (parallel arrays).
INSERT INTO case_events (case_id, type, actor, data)
SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::jsonb[])

-- name: insertIntakeEvents
-- index: none (append)
-- Appends the ledger events of an intake batch, all by actor `$1`, given as one JSON
-- array of `[case id, type, payload]` in order: one text parameter, where `insertEvents`'
-- jsonb[] would quote every payload as an array element.
INSERT INTO case_events (case_id, type, actor, data)
SELECT (e.value->>0)::bigint, e.value->>1, $1, e.value->2
FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS e(value, n)
ORDER BY e.n

-- name: setCurrentJobs
-- index: cases_pkey
-- Records which job carries each case now.
UPDATE cases c SET current_job_id = j.job_id
FROM unnest($1::bigint[], $2::bigint[]) AS j(case_id, job_id)
WHERE c.id = j.case_id

-- name: countRepeats
-- index: cases_pkey
-- Counts a repeated demand on its original case.
UPDATE cases c SET repeat_count = c.repeat_count + r.n
FROM (SELECT id, count(*)::int AS n FROM unnest($1::bigint[]) AS id GROUP BY id) r
WHERE c.id = r.id

-- name: status
-- index: none (per-task-force counts over cases_task_force_state and the small hot queue table)
-- Per task force: open, overdue, escalated (up the chain, or with its people), resolved cases, plus running and
-- discarded jobs of its queue.
SELECT tf.name AS task_force,
       (SELECT count(*) FROM cases c WHERE c.task_force = tf.name AND c.state = 'open') AS open,
       (SELECT count(*) FROM queue_jobs j WHERE j.queue = tf.name AND j.state = 'running') AS running,
       (SELECT count(*) FROM cases c WHERE c.task_force = tf.name AND c.state = 'open' AND c.due_at < now()) AS overdue,
       (SELECT count(*) FROM cases c WHERE c.task_force = tf.name
           AND (c.state IN ('escalated', 'signoff', 'working', 'suspended', 'cohandling', 'answered', 'callback_due', 'closed', 'redo') OR (c.state = 'open' AND c.escalation_level > 0))) AS escalated,
       (SELECT count(*) FROM cases c WHERE c.task_force = tf.name AND c.state = 'resolved') AS resolved,
       (SELECT count(*) FROM queue_jobs j WHERE j.queue = tf.name AND j.state = 'discarded') AS discarded
FROM unnest($1::text[]) AS tf(name)

-- name: triageBacklog
-- index: cases_open_state
-- The triage backlog, oldest first.
SELECT id, received_at, enterprise, text, confidence, routing_terms::text AS terms
FROM cases WHERE state = 'triage' ORDER BY received_at, id LIMIT $1

-- name: caseByID
-- index: cases_pkey
SELECT id, external_id, text, enterprise, contact, channel::text AS channel, language, received_at, task_force,
       confidence, routing_source, routing_terms::text AS routing_terms, kind, urgent, escalation_level,
       state::text AS state, original_due_at, due_at, warn_at, deadline_rule, duplicate_of, repeat_count,
       current_job_id, resolved_at, signoff_due_at, signed_off_at, signed_off_by, paused_at, resume_at, paused_seconds,
       suspend_count, answered_at, callback_due_at, redo_count, supervised_count, chased_count
FROM cases WHERE id = $1

-- name: eventsOfCase
-- index: case_events_case
SELECT id, at, type, actor, login::text AS login, data::text AS data FROM case_events WHERE case_id = $1 ORDER BY id

-- name: corrections
-- index: none (reads every correction)
SELECT DISTINCT ON (case_id) text, to_task_force FROM routing_corrections ORDER BY case_id, id DESC

-- name: triageCount
-- index: cases_open_state
-- How many cases wait in triage.
SELECT count(*) FROM cases WHERE state = 'triage'

-- name: pendingCount
-- index: cases_open_due
-- Cases still waiting for a worker (open, not at the top of the chain).
SELECT count(*) FROM cases WHERE state = 'open'

-- name: report
-- index: none (one pass over cases and the ledger per report)
-- One statement over cases and their events.
WITH tf(name) AS (SELECT unnest($1::text[])),
rerouted AS (
    SELECT e.data->>'from' AS name, count(DISTINCT e.case_id) AS n
    FROM case_events e WHERE e.type IN ('rerouted') GROUP BY 1),
breaches AS (
    SELECT c.task_force AS name, count(*) AS n
    FROM case_events e JOIN cases c ON c.id = e.case_id
    WHERE e.type = 'deadline_breached' GROUP BY 1)
SELECT tf.name AS task_force,
       count(c.id) FILTER (WHERE c.state <> 'merged') AS cases,
       count(c.id) FILTER (WHERE c.state IN ('open', 'triage')) AS open,
       count(c.id) FILTER (WHERE c.state = 'resolved') AS resolved,
       count(c.id) FILTER (WHERE c.state IN ('escalated', 'signoff', 'working', 'suspended', 'cohandling', 'answered', 'callback_due', 'closed', 'redo') OR (c.state = 'open' AND c.escalation_level > 0)) AS escalated,
       count(c.id) FILTER (WHERE c.state = 'closed') AS closed,
       coalesce(max(r.n), 0) AS rerouted,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM c.resolved_at - c.received_at) / 3600)
           FILTER (WHERE c.state = 'resolved') AS median_hours,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM c.resolved_at - c.received_at) / 3600)
           FILTER (WHERE c.state = 'resolved') AS p95_hours,
       coalesce(max(b.n), 0) AS breaches
FROM tf
LEFT JOIN cases c ON c.task_force = tf.name
LEFT JOIN rerouted r ON r.name = tf.name
LEFT JOIN breaches b ON b.name = tf.name
GROUP BY tf.name
