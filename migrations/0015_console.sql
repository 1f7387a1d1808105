-- 0015: indexes for the casework console (docs/console.md). Its inbox lists the people's
-- cases of one task force or of all, in the order the officer chose (solution clock,
-- sign-off clock, newest or oldest), a page at a time with keyset pagination; each order is
-- an index range read, never a sort of the whole backlog. All are partial: only the
-- people's states (a small part of the cases), so the closed million costs nothing here.
-- The order over all task forces by solution clock is 0014's cases_people_inbox.

-- One task force (an officer's own; a leader's or operator's filter).
CREATE INDEX cases_console_tf_due ON public.cases (task_force, (coalesce(due_at, 'infinity'::timestamptz)), id)
    WHERE state IN ('signoff', 'working', 'suspended', 'cohandling', 'answered', 'callback_due', 'redo');
CREATE INDEX cases_console_tf_signoff ON public.cases (task_force, (coalesce(signoff_due_at, 'infinity'::timestamptz)), id)
    WHERE state IN ('signoff', 'working', 'suspended', 'cohandling', 'answered', 'callback_due', 'redo');
CREATE INDEX cases_console_tf_received ON public.cases (task_force, received_at, id)
    WHERE state IN ('signoff', 'working', 'suspended', 'cohandling', 'answered', 'callback_due', 'redo');
-- Every task force (leaders, operators).
CREATE INDEX cases_console_signoff ON public.cases ((coalesce(signoff_due_at, 'infinity'::timestamptz)), id)
    WHERE state IN ('signoff', 'working', 'suspended', 'cohandling', 'answered', 'callback_due', 'redo');
CREATE INDEX cases_console_received ON public.cases (received_at, id)
    WHERE state IN ('signoff', 'working', 'suspended', 'cohandling', 'answered', 'callback_due', 'redo');
-- The operators' callback desk: answered or callback due, over every task force. (Its
-- predicate is narrower than the others', so the planner never takes it for their orders.)
CREATE INDEX cases_console_callback ON public.cases (state, (coalesce(due_at, 'infinity'::timestamptz)), id)
    WHERE state IN ('answered', 'callback_due');
-- The leader view: supervised cases still with people, most urgent first.
CREATE INDEX cases_console_supervised ON public.cases ((coalesce(due_at, 'infinity'::timestamptz)), id)
    WHERE state IN ('signoff', 'working', 'suspended', 'cohandling', 'redo') AND supervised_count > 0;
