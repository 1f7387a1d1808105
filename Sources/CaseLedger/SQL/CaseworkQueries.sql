-- Casework by people (Lifecycle/Casework.swift performs them; docs/casework.md).
-- Each runs as the caller's own login, after `LifecycleQueries.lockCase` and a decision
-- of CaseTransition; row-level security (migration 0014) bounds what a login touches.

-- name: login
-- index: none (no table)
-- The caller's login: the actor of the events it writes.
SELECT session_user::text AS login

-- name: signOff
-- index: cases_pkey
-- An officer takes the case: the solution clock keeps running.
UPDATE cases SET state = 'working', signed_off_at = now(), signed_off_by = session_user WHERE id = $1

-- name: suspend
-- index: cases_pkey
-- The solution clock pauses until $2 at the latest.
UPDATE cases SET state = 'suspended', paused_at = now(), resume_at = $2, suspend_count = suspend_count + 1 WHERE id = $1

-- name: resume
-- index: cases_pkey
-- Back to work: the paused time is added, the clocks moved ($2 paused seconds, $3 due, $4 warn).
UPDATE cases SET state = 'working', paused_at = NULL, resume_at = NULL, paused_seconds = paused_seconds + $2,
                 due_at = $3, warn_at = $4
WHERE id = $1

-- name: returnCase
-- index: none (a function call; inside, case_return() locks by cases_pkey)
-- An officer returns a misassigned case to triage, with a reason (definer function, migration 0014).
SELECT case_return($1, $2) AS outcome

-- name: requestCohandling
-- index: case_cohandling_pkey
-- Asks each task force of $2 for a part of the answer; a partner asked before is not asked twice.
INSERT INTO case_cohandling (case_id, task_force, lead_task_force, question, requested_by)
SELECT $1, partner, $3, $4, session_user FROM unnest($2::text[]) AS partner
ON CONFLICT (case_id, task_force) DO NOTHING
RETURNING task_force

-- name: waitingPartners
-- index: case_cohandling_pkey
-- The partners that have not replied yet (`reply IS NULL`, the same as `replied_at IS NULL` by
-- the table's CHECK, keeps the partial index of all open requests out of this per-case read).
SELECT task_force FROM case_cohandling WHERE case_id = $1 AND reply IS NULL ORDER BY task_force

-- name: enterCohandling
-- index: cases_pkey
UPDATE cases SET state = 'cohandling' WHERE id = $1

-- name: replyCohandling
-- index: none (a function call; inside, by cases_pkey and case_cohandling_pkey)
-- A partner's reply (definer function, migration 0014): 'replied', 'last' or 'already'.
SELECT case_cohandling_reply($1, $2, $3) AS outcome

-- name: insertAnswer
-- index: none (an insert; case_answers_pkey keeps one answer per round)
INSERT INTO case_answers (case_id, round, answer, language, drafted, answered_by, on_time)
VALUES ($1, $2, $3, $4, $5, session_user, $6)

-- name: markAnswered
-- index: cases_pkey
-- The answer is given: the first response, and when the callback falls due ($2).
UPDATE cases SET state = 'answered', answered_at = now(), resolved_at = now(), callback_due_at = $2,
                 first_response_at = coalesce(first_response_at, now())
WHERE id = $1

-- name: recordCallback
-- index: case_answers_pkey
-- The callback of round $2.
UPDATE case_answers SET satisfaction = $3, callback_note = $4, callback_by = session_user, callback_at = now()
WHERE case_id = $1 AND round = $2 AND callback_at IS NULL
RETURNING round

-- name: closeCase
-- index: cases_pkey
UPDATE cases SET state = 'closed' WHERE id = $1

-- name: redo
-- index: cases_pkey
-- Unsatisfied: round $2 at the same task force and level, held for sign-off with new clocks.
UPDATE cases SET state = 'redo', redo_count = $2, suspend_count = 0, signoff_due_at = $3, due_at = $4, warn_at = $5,
                 deadline_rule = $6, signed_off_at = NULL, signed_off_by = NULL, answered_at = NULL, callback_due_at = NULL,
                 resolved_at = NULL, signoff_breach_supervised = false, solution_breach_supervised = false
WHERE id = $1

-- name: supervise
-- index: cases_pkey
UPDATE cases SET supervised_count = supervised_count + 1 WHERE id = $1 RETURNING supervised_count

-- name: chase
-- index: cases_pkey
UPDATE cases SET chased_count = chased_count + 1 WHERE id = $1 RETURNING chased_count

-- name: superviseSignoffBreaches
-- index: cases_people_signoff_due
-- The sweep: sign-off clocks past due, each supervised once (SKIP LOCKED: sweeps may overlap).
UPDATE cases SET signoff_breach_supervised = true, supervised_count = supervised_count + 1
WHERE id IN (SELECT id FROM cases
             WHERE state IN ('signoff', 'redo') AND NOT signoff_breach_supervised AND signoff_due_at <= now()
             ORDER BY signoff_due_at LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING id, escalation_level, signoff_due_at

-- name: superviseSolutionBreaches
-- index: cases_people_solution_due
-- The sweep: solution clocks past due (a suspended case's clock is paused), each supervised once.
UPDATE cases SET solution_breach_supervised = true, supervised_count = supervised_count + 1
WHERE id IN (SELECT id FROM cases
             WHERE state IN ('signoff', 'working', 'cohandling', 'redo') AND NOT solution_breach_supervised AND due_at <= now()
             ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING id, escalation_level, due_at

-- name: dueResumptions
-- index: cases_suspended_resume
-- The sweep: suspensions that reached their bound.
SELECT id FROM cases WHERE state = 'suspended' AND resume_at <= now() ORDER BY resume_at LIMIT $1 FOR UPDATE SKIP LOCKED

-- name: callbacksFallingDue
-- index: cases_answered_callback
-- The sweep: answered cases whose callback is due now.
UPDATE cases SET state = 'callback_due'
WHERE id IN (SELECT id FROM cases WHERE state = 'answered' AND callback_due_at <= now()
             ORDER BY callback_due_at LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING id, callback_due_at

-- name: inbox
-- index: cases_people_inbox
-- An officer's inbox: the people's cases the login sees (row-level security), by state
-- ($1, all when NULL), most urgent first; keyset pagination after ($2 due, $3 id).
SELECT id, task_force, state::text AS state, escalation_level, enterprise, left(text, 200) AS text, language,
       signoff_due_at, due_at, paused_at, resume_at, callback_due_at, redo_count, supervised_count, chased_count
FROM cases
WHERE state IN ('signoff', 'working', 'suspended', 'cohandling', 'answered', 'callback_due', 'redo')
  AND ($1::text IS NULL OR state::text = $1)
  AND ($2::timestamptz IS NULL OR (coalesce(due_at, 'infinity'::timestamptz), id) > ($2, $3))
ORDER BY coalesce(due_at, 'infinity'::timestamptz), id
LIMIT $4

-- name: cohandlingRequests
-- index: case_cohandling_open
-- The co-handling requests waiting for the login's task forces (row-level security).
SELECT h.case_id, h.task_force, h.lead_task_force, h.question, h.requested_by, h.requested_at
FROM case_cohandling h WHERE h.replied_at IS NULL ORDER BY h.requested_at LIMIT $1

-- name: caseCohandling
-- index: case_cohandling_pkey
SELECT task_force, lead_task_force, question, requested_by, requested_at, reply, replied_by, replied_at
FROM case_cohandling WHERE case_id = $1 ORDER BY task_force

-- name: caseAnswers
-- index: case_answers_pkey
SELECT round, answer, language, drafted, answered_by, answered_at, on_time, satisfaction, callback_note, callback_by, callback_at
FROM case_answers WHERE case_id = $1 ORDER BY round

-- name: kpis
-- index: none (a view over case_events by case_events_casework; a few rows per month)
-- The casework KPIs and rank per task force for month $1 (NULL: every month), newest first.
SELECT k.month, k.task_force, k.held, k.signoffs, k.signoffs_on_time, k.answers, k.answers_on_time, k.callbacks,
       k.satisfied, k.basically_satisfied, k.unsatisfied, k.returns, k.redos, k.supervised, k.supervised_on_breach, k.chased,
       k.response_rate, k.resolution_rate, k.satisfaction_rate, k.return_rate, k.redo_rate, r.score, r.rank
FROM dashboard.casework_kpis k
JOIN dashboard.casework_ranking r ON r.month = k.month AND r.task_force = k.task_force
WHERE $1::timestamptz IS NULL OR k.month = date_trunc('month', $1::timestamptz)
ORDER BY k.month DESC, r.rank, k.task_force
