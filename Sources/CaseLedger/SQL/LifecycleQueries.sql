-- The transitions of a case, in one place (Lifecycle/CaseLifecycle.swift performs them).
-- Every transition locks the case with `lockCase` first, decides with CaseTransition
-- (pure Swift), then runs the statements below in the caller's transaction. Moves to
-- another task force or to triage go through the definer functions of migrations
-- 0008/0010, which re-check the caller's rights.

-- name: lockCase
-- index: cases_pkey
-- Locks one case for a transition; the columns CaseSnapshot holds.
SELECT id, text, task_force, state::text AS state, current_job_id, received_at, kind, urgent, escalation_level,
       language, signoff_due_at, due_at, warn_at, paused_at, resume_at, paused_seconds, suspend_count, redo_count
FROM cases WHERE id = $1 FOR UPDATE

-- name: movesOfCase
-- index: case_events_case
-- How often a case was moved already (event types `$2`).
SELECT count(*) FROM case_events WHERE case_id = $1 AND type = ANY($2::text[])

-- name: escalateCase
-- index: cases_pkey
-- One level up: new level, deadline and job.
UPDATE cases SET escalation_level = $2, due_at = $3, warn_at = $4, deadline_rule = $5, current_job_id = $6
WHERE id = $1

-- name: holdForPeople
-- index: cases_pkey
-- Escalated into a level people own: held for sign-off, with both clocks, no job.
UPDATE cases SET state = 'signoff', escalation_level = $2, signoff_due_at = $3, due_at = $4, warn_at = $5, deadline_rule = $6,
                 current_job_id = NULL, warned_level = NULL, breached_level = NULL,
                 signoff_breach_supervised = false, solution_breach_supervised = false
WHERE id = $1

-- name: cancelCase
-- index: cases_pkey
-- Withdraws a case.
UPDATE cases SET state = 'cancelled', resolved_at = now() WHERE id = $1

-- name: insertResolutions
-- index: none (insert; resolutions_job_id_key keeps one resolution per job)
-- Resolutions of many jobs at once. `job_id` is unique: a job never gets two.
INSERT INTO resolutions (case_id, job_id, attempt, escalation_level, outcome, summary, reply, measures,
                         responsible_unit, next_step, reroute_to, handler, worker, handler_seconds, case_age_seconds)
SELECT r.case_id, r.job_id, r.attempt, r.level, r.outcome, r.summary, r.reply,
       coalesce(ARRAY(SELECT jsonb_array_elements_text(r.measures)::int), '{}'),
       r.unit, r.next_step, r.reroute_to, r.handler, r.worker, r.seconds,
       extract(epoch FROM now() - c.received_at)
FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::smallint[], $5::text[], $6::text[], $7::text[],
            $8::jsonb[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::float8[])
     AS r(case_id, job_id, attempt, level, outcome, summary, reply, measures, unit, next_step, reroute_to,
          handler, worker, seconds)
JOIN cases c ON c.id = r.case_id

-- name: firstResponse
-- index: cases_pkey
-- Marks the first answer a case got (any outcome).
UPDATE cases SET first_response_at = now()
WHERE id = ANY($1::bigint[]) AND first_response_at IS NULL

-- name: closeCases
-- index: cases_open_state
-- Closes resolved/rejected cases still carried by the completing job (`$3` is the new
-- state); returns the cases closed.
UPDATE cases c SET state = x.state::case_state, resolved_at = now()
FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS x(case_id, job_id, state)
WHERE c.id = x.case_id AND c.current_job_id = x.job_id AND c.state = 'open'
RETURNING c.id

-- name: markWarnings
-- index: cases_open_warn
-- Cases past their warning point, not yet warned at their level: marks them and
-- returns them.
UPDATE cases SET warned_level = escalation_level
WHERE id IN (
    SELECT id FROM cases
    WHERE state = 'open' AND warn_at <= now() AND coalesce(warned_level, -1) < escalation_level
    ORDER BY warn_at LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING id, escalation_level, due_at

-- name: dueBreaches
-- index: cases_open_due
-- Cases past their due time, not yet breached at their level.
SELECT id FROM cases
WHERE state = 'open' AND due_at <= now() AND coalesce(breached_level, -1) < escalation_level
ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED

-- name: markBreach
-- index: cases_pkey
-- Marks a breach at the case's level, once.
UPDATE cases SET breached_level = escalation_level WHERE id = $1 RETURNING escalation_level, due_at

-- name: redispatch
-- index: none (calls case_redispatch() of migrations 0008/0010, which works by primary keys)
-- Moves a case to another task force (reroute or triage assignment) through the definer
-- function that checks the caller's role and enqueues through queue_enqueue().
SELECT public.case_redispatch($1, $2::bigint, $3, $4, $5, $6, $7, $8::integer, $9, $10, $11)

-- name: toTriage
-- index: none (calls case_to_triage() of migrations 0008/0010, which works by primary keys)
-- Sends a case to triage (a person decides).
SELECT public.case_to_triage($1, $2::bigint, $3, $4)
