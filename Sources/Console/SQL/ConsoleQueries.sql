-- The casework console's reads (Console/ConsoleInbox.swift, ConsoleLeaderView.swift).
-- Each runs as the logged-in person's own login: row-level security (migration 0014)
-- decides which rows it sees; these statements only choose the order and the page.
--
-- The inbox: one statement per order (and per "one task force" or "all"), each read along
-- its own partial index of the people's cases (migration 0015), a page at a time with keyset
-- pagination: after the (sort key, id) of the last row shown ($2, $3), never OFFSET. $1 is
-- a state or NULL (all the people's states); the page size is $4; the task force $5.
-- The sort key comes back as text (`infinity` for a clock that is not set) and goes in
-- again as the cursor, so a page boundary is exact to the microsecond.

-- name: identity
-- index: none (catalogue functions only)
-- Who the session is, to choose the pages to offer (row-level security decides the data):
-- the task forces it is an officer of, whether it is a leader, an operator, a superuser.
SELECT session_user::text AS login,
       array(SELECT substr(r.rolname, 19) FROM pg_catalog.pg_roles r
             WHERE r.rolname LIKE 'taskforce\_officer\_%' AND pg_catalog.pg_has_role(session_user, r.oid, 'MEMBER')
             ORDER BY r.rolname) AS officer_of,
       pg_catalog.pg_has_role(session_user, 'taskforce_leader', 'MEMBER') AS leader,
       pg_catalog.pg_has_role(session_user, 'taskforce_dispatcher', 'MEMBER') AS dispatcher,
       (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = session_user) AS superuser

-- name: inboxDue
-- index: cases_people_inbox
-- Every task force the login sees, by the solution clock (办结时限), most urgent first.
SELECT id, task_force, state::text AS state, escalation_level, enterprise, left(text, 160) AS text, received_at, urgent,
       signoff_due_at, due_at, warn_at, paused_at, resume_at, callback_due_at, redo_count, supervised_count, chased_count,
       coalesce(due_at, 'infinity'::timestamptz)::text AS sort_key
FROM cases
WHERE state IN ('signoff', 'working', 'suspended', 'cohandling', 'answered', 'callback_due', 'redo')
  AND ($1::text IS NULL OR state::text = $1)
  AND ($2::text IS NULL OR (coalesce(due_at, 'infinity'::timestamptz), id) > ($2::timestamptz, $3::bigint))
ORDER BY coalesce(due_at, 'infinity'::timestamptz) ASC, id ASC
LIMIT $4

-- name: inboxDueOfState
-- index: cases_console_callback
-- The callback desk: one state ($1: answered or callback_due) of every task force the login sees.
SELECT id, task_force, state::text AS state, escalation_level, enterprise, left(text, 160) AS text, received_at, urgent,
       signoff_due_at, due_at, warn_at, paused_at, resume_at, callback_due_at, redo_count, supervised_count, chased_count,
       coalesce(due_at, 'infinity'::timestamptz)::text AS sort_key
FROM cases
WHERE state IN ('answered', 'callback_due')
  AND state = $1::text::case_state
  AND ($2::text IS NULL OR (coalesce(due_at, 'infinity'::timestamptz), id) > ($2::timestamptz, $3::bigint))
ORDER BY coalesce(due_at, 'infinity'::timestamptz) ASC, id ASC
LIMIT $4

-- name: inboxDueOfTaskForce
-- index: cases_console_tf_due
-- One task force ($5), by the solution clock (办结时限), most urgent first.
SELECT id, task_force, state::text AS state, escalation_level, enterprise, left(text, 160) AS text, received_at, urgent,
       signoff_due_at, due_at, warn_at, paused_at, resume_at, callback_due_at, redo_count, supervised_count, chased_count,
       coalesce(due_at, 'infinity'::timestamptz)::text AS sort_key
FROM cases
WHERE state IN ('signoff', 'working', 'suspended', 'cohandling', 'answered', 'callback_due', 'redo')
  AND task_force = $5
  AND ($1::text IS NULL OR state::text = $1)
  AND ($2::text IS NULL OR (coalesce(due_at, 'infinity'::timestamptz), id) > ($2::timestamptz, $3::bigint))
ORDER BY task_force, coalesce(due_at, 'infinity'::timestamptz) ASC, id ASC
LIMIT $4

-- name: inboxSignoff
-- index: cases_console_signoff
-- Every task force the login sees, by the sign-off clock (签收时限), most urgent first.
SELECT id, task_force, state::text AS state, escalation_level, enterprise, left(text, 160) AS text, received_at, urgent,
       signoff_due_at, due_at, warn_at, paused_at, resume_at, callback_due_at, redo_count, supervised_count, chased_count,
       coalesce(signoff_due_at, 'infinity'::timestamptz)::text AS sort_key
FROM cases
WHERE state IN ('signoff', 'working', 'suspended', 'cohandling', 'answered', 'callback_due', 'redo')
  AND ($1::text IS NULL OR state::text = $1)
  AND ($2::text IS NULL OR (coalesce(signoff_due_at, 'infinity'::timestamptz), id) > ($2::timestamptz, $3::bigint))
ORDER BY coalesce(signoff_due_at, 'infinity'::timestamptz) ASC, id ASC
LIMIT $4

-- name: inboxSignoffOfTaskForce
-- index: cases_console_tf_signoff
-- One task force ($5), by the sign-off clock (签收时限), most urgent first.
SELECT id, task_force, state::text AS state, escalation_level, enterprise, left(text, 160) AS text, received_at, urgent,
       signoff_due_at, due_at, warn_at, paused_at, resume_at, callback_due_at, redo_count, supervised_count, chased_count,
       coalesce(signoff_due_at, 'infinity'::timestamptz)::text AS sort_key
FROM cases
WHERE state IN ('signoff', 'working', 'suspended', 'cohandling', 'answered', 'callback_due', 'redo')
  AND task_force = $5
  AND ($1::text IS NULL OR state::text = $1)
  AND ($2::text IS NULL OR (coalesce(signoff_due_at, 'infinity'::timestamptz), id) > ($2::timestamptz, $3::bigint))
ORDER BY task_force, coalesce(signoff_due_at, 'infinity'::timestamptz) ASC, id ASC
LIMIT $4

-- name: inboxNewest
-- index: cases_console_received
-- Every task force the login sees, by received, newest first.
SELECT id, task_force, state::text AS state, escalation_level, enterprise, left(text, 160) AS text, received_at, urgent,
       signoff_due_at, due_at, warn_at, paused_at, resume_at, callback_due_at, redo_count, supervised_count, chased_count,
       received_at::text AS sort_key
FROM cases
WHERE state IN ('signoff', 'working', 'suspended', 'cohandling', 'answered', 'callback_due', 'redo')
  AND ($1::text IS NULL OR state::text = $1)
  AND ($2::text IS NULL OR (received_at, id) < ($2::timestamptz, $3::bigint))
ORDER BY received_at DESC, id DESC
LIMIT $4

-- name: inboxNewestOfTaskForce
-- index: cases_console_tf_received
-- One task force ($5), by received, newest first.
SELECT id, task_force, state::text AS state, escalation_level, enterprise, left(text, 160) AS text, received_at, urgent,
       signoff_due_at, due_at, warn_at, paused_at, resume_at, callback_due_at, redo_count, supervised_count, chased_count,
       received_at::text AS sort_key
FROM cases
WHERE state IN ('signoff', 'working', 'suspended', 'cohandling', 'answered', 'callback_due', 'redo')
  AND task_force = $5
  AND ($1::text IS NULL OR state::text = $1)
  AND ($2::text IS NULL OR (received_at, id) < ($2::timestamptz, $3::bigint))
ORDER BY task_force, received_at DESC, id DESC
LIMIT $4

-- name: inboxOldest
-- index: cases_console_received
-- Every task force the login sees, by received, oldest first.
SELECT id, task_force, state::text AS state, escalation_level, enterprise, left(text, 160) AS text, received_at, urgent,
       signoff_due_at, due_at, warn_at, paused_at, resume_at, callback_due_at, redo_count, supervised_count, chased_count,
       received_at::text AS sort_key
FROM cases
WHERE state IN ('signoff', 'working', 'suspended', 'cohandling', 'answered', 'callback_due', 'redo')
  AND ($1::text IS NULL OR state::text = $1)
  AND ($2::text IS NULL OR (received_at, id) > ($2::timestamptz, $3::bigint))
ORDER BY received_at ASC, id ASC
LIMIT $4

-- name: inboxOldestOfTaskForce
-- index: cases_console_tf_received
-- One task force ($5), by received, oldest first.
SELECT id, task_force, state::text AS state, escalation_level, enterprise, left(text, 160) AS text, received_at, urgent,
       signoff_due_at, due_at, warn_at, paused_at, resume_at, callback_due_at, redo_count, supervised_count, chased_count,
       received_at::text AS sort_key
FROM cases
WHERE state IN ('signoff', 'working', 'suspended', 'cohandling', 'answered', 'callback_due', 'redo')
  AND task_force = $5
  AND ($1::text IS NULL OR state::text = $1)
  AND ($2::text IS NULL OR (received_at, id) > ($2::timestamptz, $3::bigint))
ORDER BY task_force, received_at ASC, id ASC
LIMIT $4

-- name: leaderSolutionBreached
-- index: cases_people_inbox
-- The leader view: cases whose solution clock ran out while people still hold them (a
-- suspended case's clock is paused; an answered one is done), the longest overdue first.
-- The index's order puts them first, so the read stops after $1 rows.
SELECT id, task_force, state::text AS state, escalation_level, enterprise, left(text, 160) AS text, received_at, urgent,
       signoff_due_at, due_at, warn_at, paused_at, resume_at, callback_due_at, redo_count, supervised_count, chased_count,
       coalesce(due_at, 'infinity'::timestamptz)::text AS sort_key
FROM cases
WHERE state IN ('signoff', 'working', 'suspended', 'cohandling', 'answered', 'callback_due', 'redo')
  AND state IN ('signoff', 'working', 'cohandling', 'redo')
  AND coalesce(due_at, 'infinity'::timestamptz) <= now()
ORDER BY coalesce(due_at, 'infinity'::timestamptz), id
LIMIT $1

-- name: leaderSignoffBreached
-- index: cases_console_signoff
-- The leader view: cases not signed off by their sign-off clock, the longest overdue first.
SELECT id, task_force, state::text AS state, escalation_level, enterprise, left(text, 160) AS text, received_at, urgent,
       signoff_due_at, due_at, warn_at, paused_at, resume_at, callback_due_at, redo_count, supervised_count, chased_count,
       coalesce(signoff_due_at, 'infinity'::timestamptz)::text AS sort_key
FROM cases
WHERE state IN ('signoff', 'working', 'suspended', 'cohandling', 'answered', 'callback_due', 'redo')
  AND state IN ('signoff', 'redo')
  AND coalesce(signoff_due_at, 'infinity'::timestamptz) <= now()
ORDER BY coalesce(signoff_due_at, 'infinity'::timestamptz), id
LIMIT $1

-- name: leaderSupervised
-- index: cases_console_supervised
-- The leader view: supervised (督办) cases still with people, most urgent first.
SELECT id, task_force, state::text AS state, escalation_level, enterprise, left(text, 160) AS text, received_at, urgent,
       signoff_due_at, due_at, warn_at, paused_at, resume_at, callback_due_at, redo_count, supervised_count, chased_count,
       coalesce(due_at, 'infinity'::timestamptz)::text AS sort_key
FROM cases
WHERE state IN ('signoff', 'working', 'suspended', 'cohandling', 'redo') AND supervised_count > 0
ORDER BY coalesce(due_at, 'infinity'::timestamptz), id
LIMIT $1
