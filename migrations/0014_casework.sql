-- 0014: casework by people (docs/casework.md): two clocks, suspension, return,
-- co-handling, supervision and chasing, the answer, the callback and redo; the logins of
-- officers and leaders under row-level security.
--
-- Who does what (each as their own login, a member of one group role):
--   taskforce_officer_<tf>  the people of one task force: see its cases (and the cases it
--                           is asked to co-handle), sign off, suspend, resume, return,
--                           ask for co-handling, reply to co-handling, answer
--   taskforce_leader        leaders: read every case, supervise (督办) and chase (催办)
--   taskforce_dispatcher    operators (as before): triage, and now the callback (回访)
--   taskforce_maintainer    the sweeps: breaches raise supervision, bounded suspensions
--                           resume, answered cases fall due for their callback
-- The rules of every transition are in Swift (CaseLedger/Lifecycle/CaseTransition.swift);
-- the grants below only bound what each login can touch, and the moves that leave a
-- task force (return, a co-handling reply to another task force's case) are definer
-- functions that check the caller first.

-- 1. The case's casework columns. due_at stays the solution clock (办结时限).
ALTER TABLE public.cases
    ADD COLUMN signoff_due_at     timestamptz,
    ADD COLUMN signed_off_at      timestamptz,
    ADD COLUMN signed_off_by      text,
    -- The current suspension: when it began and when it ends at the latest.
    ADD COLUMN paused_at          timestamptz,
    ADD COLUMN resume_at          timestamptz,
    -- Seconds of the solution clock paused so far (on that clock: working or calendar).
    ADD COLUMN paused_seconds     double precision NOT NULL DEFAULT 0 CHECK (paused_seconds >= 0),
    ADD COLUMN suspend_count      integer NOT NULL DEFAULT 0 CHECK (suspend_count >= 0),
    ADD COLUMN answered_at        timestamptz,
    ADD COLUMN callback_due_at    timestamptz,
    ADD COLUMN redo_count         integer NOT NULL DEFAULT 0 CHECK (redo_count >= 0),
    ADD COLUMN supervised_count   integer NOT NULL DEFAULT 0 CHECK (supervised_count >= 0),
    ADD COLUMN chased_count       integer NOT NULL DEFAULT 0 CHECK (chased_count >= 0),
    -- Set once per clock by the breach sweep, so a breach is supervised exactly once;
    -- cleared when the clock is set anew (redo).
    ADD COLUMN signoff_breach_supervised  boolean NOT NULL DEFAULT false,
    ADD COLUMN solution_breach_supervised boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT cases_suspension_bounded CHECK (state <> 'suspended' OR (paused_at IS NOT NULL AND resume_at IS NOT NULL));

-- An officer's inbox: the people's cases, most urgent first (row-level security picks the task force).
-- Keyed like the inbox's ORDER BY, so a page is an index range read, not a sort.
CREATE INDEX cases_people_inbox ON public.cases ((coalesce(due_at, 'infinity'::timestamptz)), id)
    WHERE state IN ('signoff', 'working', 'suspended', 'cohandling', 'answered', 'callback_due', 'redo');
-- The breach sweep: sign-off clocks (waiting for sign-off) and solution clocks (running).
CREATE INDEX cases_people_signoff_due ON public.cases (signoff_due_at)
    WHERE state IN ('signoff', 'redo') AND NOT signoff_breach_supervised;
CREATE INDEX cases_people_solution_due ON public.cases (due_at)
    WHERE state IN ('signoff', 'working', 'cohandling', 'redo') AND NOT solution_breach_supervised;
-- The resume sweep and the callback sweep.
CREATE INDEX cases_suspended_resume ON public.cases (resume_at) WHERE state = 'suspended';
CREATE INDEX cases_answered_callback ON public.cases (callback_due_at) WHERE state = 'answered';

-- 2. Co-handling (协办): the lead task force's case asks another task force for a part of
-- the answer; one row per partner. lead_task_force is kept on the row so that the row's
-- own policy needs no lookup of cases (no policy recursion).
CREATE TABLE public.case_cohandling (
    case_id          bigint      NOT NULL REFERENCES public.cases (id),
    task_force       text        NOT NULL CHECK (task_force IN ('tax', 'credit', 'legal', 'infrastructure', 'financing', 'innovation', 'foreign')),
    lead_task_force  text        NOT NULL CHECK (lead_task_force IN ('tax', 'credit', 'legal', 'infrastructure', 'financing', 'innovation', 'foreign')),
    question         text        NOT NULL CHECK (length(btrim(question)) > 0 AND length(question) <= 4000),
    requested_by     text        NOT NULL,
    requested_at     timestamptz NOT NULL DEFAULT now(),
    reply            text        CHECK (reply IS NULL OR (length(btrim(reply)) > 0 AND length(reply) <= 8000)),
    replied_by       text,
    replied_at       timestamptz,
    PRIMARY KEY (case_id, task_force),
    CHECK (task_force <> lead_task_force),
    CHECK ((reply IS NULL) = (replied_at IS NULL))
);
-- A partner's waiting requests.
CREATE INDEX case_cohandling_open ON public.case_cohandling (requested_at) WHERE replied_at IS NULL;

-- 3. Answers to the enterprise and their callbacks: one row per round (0, then one per redo).
CREATE TABLE public.case_answers (
    case_id          bigint      NOT NULL REFERENCES public.cases (id),
    round            integer     NOT NULL CHECK (round >= 0),
    answer           text        NOT NULL CHECK (length(btrim(answer)) > 0 AND length(answer) <= 8000),
    language         text        NOT NULL CHECK (language IN ('zh-Hans', 'zh-Hant', 'en')),
    -- Whether the answer started from the advisor's draft.
    drafted          boolean     NOT NULL,
    answered_by      text        NOT NULL,
    answered_at      timestamptz NOT NULL DEFAULT now(),
    on_time          boolean     NOT NULL,
    satisfaction     text        CHECK (satisfaction IN ('satisfied', 'basically_satisfied', 'unsatisfied')),
    callback_note    text        CHECK (callback_note IS NULL OR length(callback_note) <= 4000),
    callback_by      text,
    callback_at      timestamptz,
    PRIMARY KEY (case_id, round),
    CHECK ((satisfaction IS NULL) = (callback_at IS NULL))
);
CREATE INDEX case_answers_month ON public.case_answers (answered_at);

-- 4. The ledger's new event types (each with actor, reason and time).
ALTER TABLE public.case_events DROP CONSTRAINT case_events_type_check;
ALTER TABLE public.case_events ADD CONSTRAINT case_events_type_check CHECK (type IN (
    'received', 'classified', 'deadline_set', 'enqueued', 'claimed', 'attempt_failed', 'resolved',
    'rejected', 'escalated', 'rerouted', 'merged', 'repeated', 'reopened', 'assigned', 'cancelled',
    'deadline_warning', 'deadline_breached', 'discarded',
    'held_for_people', 'signed_off', 'returned', 'suspended', 'resumed', 'cohandling_requested', 'cohandling_replied',
    'answered', 'callback_due', 'callback_recorded', 'closed', 'redo', 'supervised', 'chased'));
-- KPIs count casework events per month.
CREATE INDEX case_events_casework ON public.case_events (type, at)
    WHERE type IN ('held_for_people', 'signed_off', 'returned', 'answered', 'callback_recorded', 'redo', 'supervised', 'chased');

-- 5. Cases escalated to the top before this migration waited for people with no clock.
-- They are now held for sign-off with clocks that are already due, so the first breach
-- sweep raises supervision on each: loud, never silent.
UPDATE public.cases
SET state = 'signoff', signoff_due_at = now(), due_at = coalesce(due_at, now()),
    deadline_rule = coalesce(deadline_rule || '; ', '') || 'held for people by migration 0014: clocks due at once'
WHERE state = 'escalated';
INSERT INTO public.case_events (case_id, type, actor, data)
SELECT id, 'held_for_people', current_user, jsonb_build_object('level', escalation_level, 'signoff_due_at', signoff_due_at,
       'due_at', due_at, 'reason', 'migration 0014: a top-level case now waits for sign-off')
FROM public.cases WHERE state = 'signoff' AND signed_off_at IS NULL AND deadline_rule LIKE '%by migration 0014%';

-- 6. Roles. Officers per task force, one group for all officers, leaders.
DO $$
DECLARE
    name text;
BEGIN
    FOREACH name IN ARRAY ARRAY['taskforce_officer', 'taskforce_leader',
        'taskforce_officer_tax', 'taskforce_officer_credit', 'taskforce_officer_legal', 'taskforce_officer_infrastructure',
        'taskforce_officer_financing', 'taskforce_officer_innovation', 'taskforce_officer_foreign'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = name) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', name);
        END IF;
    END LOOP;
    FOREACH name IN ARRAY ARRAY['tax', 'credit', 'legal', 'infrastructure', 'financing', 'innovation', 'foreign'] LOOP
        EXECUTE pg_catalog.format('GRANT taskforce_officer TO %I', 'taskforce_officer_' || name);
    END LOOP;
END;
$$;

-- People's sessions are bounded like every other login's (migration 0009).
INSERT INTO public.login_settings (group_role, setting, value) VALUES
    ('taskforce_officer', 'statement_timeout', '30s'),
    ('taskforce_officer', 'idle_in_transaction_session_timeout', '60s'),
    ('taskforce_leader', 'statement_timeout', '60s'),
    ('taskforce_leader', 'idle_in_transaction_session_timeout', '60s');

-- Whether the session is an officer of task force `task_force` (by membership).
CREATE FUNCTION public.officer_of(task_force text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT task_force OPERATOR(pg_catalog.=) ANY (ARRAY['tax', 'credit', 'legal', 'infrastructure', 'financing', 'innovation', 'foreign'])
       AND pg_catalog.pg_has_role(session_user, pg_catalog.concat('taskforce_officer_', task_force), 'MEMBER')
$$;
REVOKE ALL ON FUNCTION public.officer_of(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.officer_of(text) TO taskforce_officer, taskforce_leader;

GRANT USAGE ON SCHEMA public TO taskforce_officer, taskforce_leader;
-- Officers read their cases and write only the casework columns.
GRANT SELECT ON public.cases, public.case_events, public.case_cohandling, public.case_answers, public.resolutions
    TO taskforce_officer, taskforce_leader;
GRANT UPDATE (state, signed_off_at, signed_off_by, paused_at, resume_at, paused_seconds, suspend_count, due_at, warn_at,
              deadline_rule, answered_at, callback_due_at, resolved_at, first_response_at, updated_at)
    ON public.cases TO taskforce_officer;
-- A department's escalation into a level people own holds the case for sign-off.
GRANT UPDATE (signoff_due_at, signoff_breach_supervised, solution_breach_supervised) ON public.cases TO taskforce_worker;
GRANT INSERT ON public.case_events, public.case_answers TO taskforce_officer;
GRANT INSERT ON public.case_cohandling TO taskforce_officer;
-- Leaders write only their counters and their events.
GRANT UPDATE (supervised_count, chased_count) ON public.cases TO taskforce_leader;
GRANT INSERT ON public.case_events TO taskforce_leader;
-- Operators record callbacks and reopen as redo; the maintainer sweeps.
GRANT SELECT, INSERT, UPDATE ON public.case_cohandling, public.case_answers TO taskforce_dispatcher, taskforce_maintainer;
GRANT SELECT ON public.case_cohandling, public.case_answers TO taskforce_worker;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO taskforce_officer, taskforce_leader;

ALTER TABLE public.case_cohandling ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.case_answers ENABLE ROW LEVEL SECURITY;

-- An officer sees the cases of their task force, and those their task force was asked
-- to co-handle; changes only those of their task force, which stay theirs.
CREATE POLICY officer_own ON public.cases FOR SELECT TO taskforce_officer
    USING (public.officer_of(task_force)
           OR EXISTS (SELECT 1 FROM public.case_cohandling h WHERE h.case_id = cases.id AND public.officer_of(h.task_force)));
CREATE POLICY officer_update ON public.cases FOR UPDATE TO taskforce_officer
    USING (public.officer_of(task_force)) WITH CHECK (public.officer_of(task_force));
CREATE POLICY leader_all ON public.cases FOR SELECT TO taskforce_leader USING (true);
CREATE POLICY leader_update ON public.cases FOR UPDATE TO taskforce_leader USING (true) WITH CHECK (true);

-- Events: read those of visible cases; write casework events of one's own task force,
-- under one's own name.
CREATE POLICY officer_read ON public.case_events FOR SELECT TO taskforce_officer
    USING (EXISTS (SELECT 1 FROM public.cases c WHERE c.id = case_id));
CREATE POLICY officer_write ON public.case_events FOR INSERT TO taskforce_officer
    WITH CHECK (actor = session_user
                AND type IN ('signed_off', 'suspended', 'resumed', 'cohandling_requested', 'answered', 'deadline_set')
                AND EXISTS (SELECT 1 FROM public.cases c WHERE c.id = case_id AND public.officer_of(c.task_force)));
CREATE POLICY leader_read ON public.case_events FOR SELECT TO taskforce_leader USING (true);
CREATE POLICY leader_write ON public.case_events FOR INSERT TO taskforce_leader
    WITH CHECK (actor = session_user AND type IN ('supervised', 'chased'));

CREATE POLICY officer_rows ON public.case_cohandling FOR SELECT TO taskforce_officer
    USING (public.officer_of(task_force) OR public.officer_of(lead_task_force));
CREATE POLICY officer_request ON public.case_cohandling FOR INSERT TO taskforce_officer
    WITH CHECK (public.officer_of(lead_task_force) AND requested_by = session_user AND reply IS NULL
                AND EXISTS (SELECT 1 FROM public.cases c WHERE c.id = case_id AND c.task_force = lead_task_force));
CREATE POLICY leader_all ON public.case_cohandling FOR SELECT TO taskforce_leader USING (true);
CREATE POLICY everything ON public.case_cohandling TO taskforce_dispatcher, taskforce_maintainer USING (true) WITH CHECK (true);
CREATE POLICY own_task_force ON public.case_cohandling FOR SELECT TO taskforce_worker
    USING (public.taskforce_may_access(task_force) OR public.taskforce_may_access(lead_task_force));

CREATE POLICY officer_rows ON public.case_answers FOR SELECT TO taskforce_officer
    USING (EXISTS (SELECT 1 FROM public.cases c WHERE c.id = case_id));
CREATE POLICY officer_answer ON public.case_answers FOR INSERT TO taskforce_officer
    WITH CHECK (answered_by = session_user AND satisfaction IS NULL
                AND EXISTS (SELECT 1 FROM public.cases c WHERE c.id = case_id AND public.officer_of(c.task_force)));
CREATE POLICY leader_all ON public.case_answers FOR SELECT TO taskforce_leader USING (true);
CREATE POLICY everything ON public.case_answers TO taskforce_dispatcher, taskforce_maintainer USING (true) WITH CHECK (true);
CREATE POLICY own_task_force ON public.case_answers FOR SELECT TO taskforce_worker
    USING (EXISTS (SELECT 1 FROM public.cases c WHERE c.id = case_id));

-- Officers and leaders read the resolutions of the cases they see (the machines' answers
-- at lower levels, for context).
CREATE POLICY people_read ON public.resolutions FOR SELECT TO taskforce_officer, taskforce_leader
    USING (EXISTS (SELECT 1 FROM public.cases c WHERE c.id = case_id));

-- 7. Return (退回): an officer sends a misassigned case back to triage, with a reason.
-- The case leaves the officer's task force, which row-level security would refuse, so
-- this runs as the owner after checking that the caller is an officer of the case's task
-- force (or an operator) and that the case waits for sign-off or is being worked.
CREATE FUNCTION public.case_return(p_case bigint, p_reason text) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_case public.cases%ROWTYPE;
BEGIN
    IF p_reason IS NULL OR length(btrim(p_reason)) = 0 OR length(p_reason) > 2000 THEN
        RAISE EXCEPTION 'case_return: a reason of 1-2000 characters is required' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO v_case FROM public.cases WHERE id = p_case FOR UPDATE;
    IF NOT FOUND OR NOT (public.officer_of(v_case.task_force)
                         OR pg_catalog.pg_has_role(session_user, 'taskforce_dispatcher', 'MEMBER')) THEN
        RAISE EXCEPTION 'case % not found, or not yours to return', p_case USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF v_case.state NOT IN ('signoff', 'working', 'redo') THEN
        RETURN v_case.state::text;
    END IF;
    UPDATE public.cases
    SET task_force = 'triage', state = 'triage', current_job_id = NULL, signoff_due_at = NULL, signed_off_at = NULL,
        signed_off_by = NULL, signoff_breach_supervised = false, solution_breach_supervised = false
    WHERE id = p_case;
    INSERT INTO public.case_events (case_id, type, actor, data) VALUES
        (p_case, 'returned', session_user, jsonb_build_object('from', v_case.task_force, 'state', v_case.state::text,
                                                              'level', v_case.escalation_level, 'reason', p_reason));
    RETURN 'returned';
END;
$$;
REVOKE ALL ON FUNCTION public.case_return(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.case_return(bigint, text) TO taskforce_officer, taskforce_dispatcher;

-- 8. A partner's co-handling reply. The lead case belongs to another task force, so this
-- runs as the owner after checking the caller is an officer of the partner task force.
-- When the last partner replies, the lead case goes back to `working` in the same step.
-- Returns 'replied', 'last' (the lead may answer now), or 'already' (replied before).
CREATE FUNCTION public.case_cohandling_reply(p_case bigint, p_task_force text, p_reply text) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_row public.case_cohandling%ROWTYPE;
    v_state public.case_state;
    v_waiting integer;
BEGIN
    IF p_reply IS NULL OR length(btrim(p_reply)) = 0 OR length(p_reply) > 8000 THEN
        RAISE EXCEPTION 'case_cohandling_reply: a reply of 1-8000 characters is required' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT public.officer_of(p_task_force) THEN
        RAISE EXCEPTION 'case % has no co-handling request for you', p_case USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- The case first, then its rows: the same lock order as the lead's request.
    SELECT state INTO v_state FROM public.cases WHERE id = p_case FOR UPDATE;
    SELECT * INTO v_row FROM public.case_cohandling WHERE case_id = p_case AND task_force = p_task_force FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'case % has no co-handling request for you', p_case USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF v_row.replied_at IS NOT NULL THEN
        RETURN 'already';
    END IF;
    UPDATE public.case_cohandling SET reply = p_reply, replied_by = session_user, replied_at = now()
    WHERE case_id = p_case AND task_force = p_task_force;
    SELECT count(*) INTO v_waiting FROM public.case_cohandling WHERE case_id = p_case AND replied_at IS NULL;
    INSERT INTO public.case_events (case_id, type, actor, data) VALUES
        (p_case, 'cohandling_replied', session_user, jsonb_build_object('task_force', p_task_force, 'reply', p_reply,
                                                                        'waiting', v_waiting));
    IF v_waiting = 0 AND v_state = 'cohandling' THEN
        UPDATE public.cases SET state = 'working' WHERE id = p_case;
        RETURN 'last';
    END IF;
    RETURN 'replied';
END;
$$;
REVOKE ALL ON FUNCTION public.case_cohandling_reply(bigint, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.case_cohandling_reply(bigint, text, text) TO taskforce_officer;

-- 9. The backlog now shows the people's states by name (was: 'escalated').
CREATE OR REPLACE VIEW dashboard.backlog AS
SELECT task_force, state, sum(cases)::bigint AS cases
FROM (
    SELECT c.task_force, c.state::text AS state, count(*) AS cases
    FROM public.cases c
    WHERE c.state IN ('signoff', 'working', 'suspended', 'cohandling', 'answered', 'callback_due', 'redo', 'escalated')
    GROUP BY 1, 2
    UNION ALL
    SELECT c.task_force,
           CASE WHEN c.state = 'triage' THEN 'triage'
                WHEN j.state = 'running' THEN 'running'
                WHEN c.escalation_level > 0 THEN 'escalated'
                ELSE 'queued' END,
           count(*)
    FROM public.cases c
    LEFT JOIN public.queue_jobs j ON j.id = c.current_job_id
    WHERE c.state IN ('open', 'triage')
    GROUP BY 1, 2
) parts
GROUP BY task_force, state;

-- 10. The KPIs real centres use (docs/dashboards.md, "Casework KPIs"), per task force and
-- month (months in the session's TimeZone), from the ledger: the three rates (response =
-- on-time sign-offs / sign-offs; resolution = on-time answers / answers; satisfaction =
-- satisfied or basically satisfied / callbacks), the return rate (returns / cases that
-- reached people), the redo rate (redos / callbacks), supervision and chasing counts.
-- An event counts for the case's task force; a return for the task force that returned it.
-- Index: case_events_casework (type, at) for the events, cases_pkey for the join.
CREATE VIEW dashboard.casework_kpis AS
WITH events AS (
    SELECT date_trunc('month', e.at) AS month,
           CASE WHEN e.type = 'returned' THEN e.data->>'from' ELSE c.task_force END AS task_force,
           e.type, e.data
    FROM public.case_events e JOIN public.cases c ON c.id = e.case_id
    WHERE e.type IN ('held_for_people', 'signed_off', 'returned', 'answered', 'callback_recorded', 'redo', 'supervised', 'chased')
)
SELECT month, task_force,
       count(*) FILTER (WHERE type = 'held_for_people')::bigint AS held,
       count(*) FILTER (WHERE type = 'signed_off')::bigint AS signoffs,
       count(*) FILTER (WHERE type = 'signed_off' AND (data->>'on_time')::boolean)::bigint AS signoffs_on_time,
       count(*) FILTER (WHERE type = 'answered')::bigint AS answers,
       count(*) FILTER (WHERE type = 'answered' AND (data->>'on_time')::boolean)::bigint AS answers_on_time,
       count(*) FILTER (WHERE type = 'callback_recorded')::bigint AS callbacks,
       count(*) FILTER (WHERE type = 'callback_recorded' AND data->>'satisfaction' = 'satisfied')::bigint AS satisfied,
       count(*) FILTER (WHERE type = 'callback_recorded' AND data->>'satisfaction' = 'basically_satisfied')::bigint AS basically_satisfied,
       count(*) FILTER (WHERE type = 'callback_recorded' AND data->>'satisfaction' = 'unsatisfied')::bigint AS unsatisfied,
       count(*) FILTER (WHERE type = 'returned')::bigint AS returns,
       count(*) FILTER (WHERE type = 'redo')::bigint AS redos,
       count(*) FILTER (WHERE type = 'supervised')::bigint AS supervised,
       count(*) FILTER (WHERE type = 'supervised' AND (data->>'automatic')::boolean)::bigint AS supervised_on_breach,
       count(*) FILTER (WHERE type = 'chased')::bigint AS chased,
       round(count(*) FILTER (WHERE type = 'signed_off' AND (data->>'on_time')::boolean)::numeric
             / nullif(count(*) FILTER (WHERE type = 'signed_off'), 0), 4)::double precision AS response_rate,
       round(count(*) FILTER (WHERE type = 'answered' AND (data->>'on_time')::boolean)::numeric
             / nullif(count(*) FILTER (WHERE type = 'answered'), 0), 4)::double precision AS resolution_rate,
       round(count(*) FILTER (WHERE type = 'callback_recorded' AND data->>'satisfaction' IN ('satisfied', 'basically_satisfied'))::numeric
             / nullif(count(*) FILTER (WHERE type = 'callback_recorded'), 0), 4)::double precision AS satisfaction_rate,
       round(count(*) FILTER (WHERE type = 'returned')::numeric
             / nullif(count(*) FILTER (WHERE type IN ('held_for_people', 'returned')), 0), 4)::double precision AS return_rate,
       round(count(*) FILTER (WHERE type = 'redo')::numeric
             / nullif(count(*) FILTER (WHERE type = 'callback_recorded'), 0), 4)::double precision AS redo_rate
FROM events
WHERE task_force IS NOT NULL AND task_force <> 'triage'
GROUP BY month, task_force;

-- The monthly ranking: the three rates weighted as Beijing weighs them (response 30 %,
-- resolution 35 %, satisfaction 35 %; a rate with nothing to measure counts as 1), rank 1
-- best; ties share a rank.
CREATE VIEW dashboard.casework_ranking AS
SELECT month, task_force,
       round((0.30 * coalesce(response_rate, 1) + 0.35 * coalesce(resolution_rate, 1)
              + 0.35 * coalesce(satisfaction_rate, 1))::numeric, 4)::double precision AS score,
       rank() OVER (PARTITION BY month ORDER BY 0.30 * coalesce(response_rate, 1) + 0.35 * coalesce(resolution_rate, 1)
                                                + 0.35 * coalesce(satisfaction_rate, 1) DESC) AS rank,
       response_rate, resolution_rate, satisfaction_rate, return_rate, redo_rate, supervised, chased
FROM dashboard.casework_kpis;

GRANT SELECT ON dashboard.backlog, dashboard.casework_kpis, dashboard.casework_ranking TO taskforce_dashboard;
GRANT USAGE ON SCHEMA dashboard TO taskforce_leader, taskforce_officer, taskforce_dispatcher;
GRANT SELECT ON dashboard.casework_kpis, dashboard.casework_ranking TO taskforce_leader, taskforce_officer, taskforce_dispatcher;
