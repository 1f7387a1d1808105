-- 0008: close the holes of the role model (docs/reliability.md, "Attacks and their tests").
--
-- 1. No schema a login can create objects in, no temporary tables for PUBLIC: a login
--    cannot plant a relation, function or operator that a privileged query might find.
-- 2. The row-level-security helper names everything by schema, whatever the caller's
--    search_path.
-- 3. Every SECURITY DEFINER function searches pg_catalog first and pg_temp last and
--    names every table by schema, so a temporary table cannot shadow one.
-- 4. case_redispatch() validates its arguments, computes the job's priority and unique
--    key itself, cancels the case's current job and records the caller's login as the
--    actor; case_to_triage() does the same for a department handing a case to a person.
-- 5. Every ledger event and routing correction records the login that wrote it, set by
--    a trigger (not forgeable by the writer).
-- 6. Department workers get no sequence privileges (identity columns need none), so
--    nextval() cannot reveal other task forces' volumes.

REVOKE CREATE ON SCHEMA public FROM PUBLIC;
DO $$
BEGIN
    EXECUTE pg_catalog.format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', pg_catalog.current_database());
END;
$$;

-- 2. The RLS helper (policies reference it by OID; only its body changes). Every function
-- and operator in it is named by schema, so no search_path can redirect it.
CREATE OR REPLACE FUNCTION public.taskforce_may_access(task_force text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT pg_catalog.pg_has_role(
        pg_catalog."current_user"(), pg_catalog.concat('taskforce_worker_', task_force), 'MEMBER')
    WHERE task_force OPERATOR(pg_catalog.=) ANY (
        ARRAY['tax', 'credit', 'legal', 'infrastructure', 'financing', 'innovation', 'foreign']::pg_catalog.text[])
$$;

-- 3. The dashboards' refresher already names its views by schema; pin its path too.
ALTER FUNCTION dashboard.refresh() SET search_path = pg_catalog, pg_temp;

-- 5. Who wrote each row of the ledger and of the corrections.
ALTER TABLE public.case_events ADD COLUMN login name;
ALTER TABLE public.routing_corrections ADD COLUMN login name;
COMMENT ON COLUMN public.case_events.login IS
    'The database login that wrote the event (session_user, set by trigger); actor is the writer''s own label.';
COMMENT ON COLUMN public.routing_corrections.login IS
    'The database login that wrote the correction (session_user, set by trigger).';

CREATE FUNCTION public.record_login() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    NEW.login := session_user;
    RETURN NEW;
END;
$$;
CREATE TRIGGER case_events_login BEFORE INSERT ON public.case_events
    FOR EACH ROW EXECUTE FUNCTION public.record_login();
CREATE TRIGGER routing_corrections_login BEFORE INSERT ON public.routing_corrections
    FOR EACH ROW EXECUTE FUNCTION public.record_login();

-- Whether the session's login may act for cases of `task_force` in a definer function:
-- the schema owner, the dispatcher and maintainer roles for any case, a department's
-- worker role for its own task force's cases. Superusers are members of every role.
CREATE FUNCTION public.caller_may_act_for(task_force text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.pg_has_role(session_user,
               (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = 'public.cases'::pg_catalog.regclass), 'MEMBER')
        OR pg_catalog.pg_has_role(session_user, 'taskforce_dispatcher', 'MEMBER')
        OR pg_catalog.pg_has_role(session_user, 'taskforce_maintainer', 'MEMBER')
        OR (task_force OPERATOR(pg_catalog.<>) 'triage'
            AND pg_catalog.pg_has_role(session_user, pg_catalog.concat('taskforce_worker_', task_force), 'MEMBER'))
$$;
REVOKE ALL ON FUNCTION public.caller_may_act_for(text) FROM PUBLIC;

-- 4. Moving a case to another task force (a handler's or an operator's reroute, a
-- triage assignment). The old function trusted its arguments: drop it.
DROP FUNCTION public.case_redispatch(bigint, text, text, text, text, text, integer, smallint, text, timestamptz, timestamptz, text);

CREATE FUNCTION public.case_redispatch(
    p_case bigint, p_from_job bigint, p_to text, p_source text, p_event text, p_reason text, p_via text,
    p_level integer, p_due timestamptz, p_warn timestamptz, p_rule text
) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_case public.cases%ROWTYPE;
    v_job bigint;
    v_moves integer;
    v_actor text := session_user;
BEGIN
    -- Arguments first: nothing is read before they are known to be sane.
    IF p_to IS NULL OR NOT p_to = ANY (ARRAY['tax', 'credit', 'legal', 'infrastructure', 'financing', 'innovation', 'foreign']) THEN
        RAISE EXCEPTION 'case_redispatch: % is not a department task force', coalesce(p_to, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_event IS NULL OR NOT p_event = ANY (ARRAY['rerouted', 'assigned']) THEN
        RAISE EXCEPTION 'case_redispatch: event must be rerouted or assigned' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_source IS NULL OR NOT p_source = ANY (ARRAY['corrected', 'manual']) THEN
        RAISE EXCEPTION 'case_redispatch: source must be corrected or manual' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_level IS NULL OR p_level < 0 OR p_level > 2 THEN
        RAISE EXCEPTION 'case_redispatch: level must be 0, 1 or 2' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_due IS NULL OR p_warn IS NULL OR p_warn > p_due OR p_due < now() - interval '400 days' OR p_due > now() + interval '400 days' THEN
        RAISE EXCEPTION 'case_redispatch: the deadline must lie within 400 days of now and the warning before it'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_reason IS NULL OR length(p_reason) = 0 OR length(p_reason) > 2000 OR length(coalesce(p_via, '')) > 200
       OR length(coalesce(p_rule, '')) > 200 THEN
        RAISE EXCEPTION 'case_redispatch: reason (1-2000 characters), via and rule (up to 200) are required within bounds'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    SELECT * INTO v_case FROM public.cases WHERE id = p_case FOR UPDATE;
    -- The same answer whether the case does not exist or belongs to someone else.
    IF NOT FOUND OR NOT public.caller_may_act_for(v_case.task_force) THEN
        RAISE EXCEPTION 'case % not found, or not yours to move', p_case USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF v_case.state NOT IN ('open', 'triage') THEN
        RAISE EXCEPTION 'case % is %: only open or triage cases move', p_case, v_case.state USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- A department moves a case as it stands: same level, a deadline from now on. Only
    -- operators (dispatcher) and the maintainer may set another level or a past deadline.
    IF NOT (pg_catalog.pg_has_role(session_user, 'taskforce_dispatcher', 'MEMBER')
            OR pg_catalog.pg_has_role(session_user, 'taskforce_maintainer', 'MEMBER')
            OR pg_catalog.pg_has_role(session_user,
                   (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = 'public.cases'::pg_catalog.regclass), 'MEMBER')) THEN
        IF p_level <> v_case.escalation_level OR p_due < now() THEN
            RAISE EXCEPTION 'case_redispatch: a department keeps the case''s level (%) and sets a deadline from now on', v_case.escalation_level
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END IF;
    IF p_from_job IS NOT NULL AND v_case.current_job_id IS DISTINCT FROM p_from_job THEN
        RETURN NULL;  -- a stale job's reroute: the case has moved on; nothing to do
    END IF;
    IF p_to = v_case.task_force THEN
        RAISE EXCEPTION 'case % is already with %', p_case, p_to USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- The case's current job, if still pending, is cancelled (a worker still on it is fenced out).
    UPDATE public.queue_jobs
    SET state = 'cancelled', finished_at = now(), lease_token = NULL, lease_expires_at = NULL, locked_by = NULL
    WHERE id = v_case.current_job_id AND state IN ('available', 'scheduled', 'running', 'retryable');

    SELECT count(*) INTO v_moves FROM public.case_events e WHERE e.case_id = p_case AND e.type IN ('rerouted', 'assigned');
    INSERT INTO public.queue_jobs (queue, kind, payload, priority, unique_key)
    VALUES (p_to, 'case', jsonb_build_object('case_id', p_case, 'level', p_level),
            ((CASE WHEN v_case.urgent THEN 10 ELSE 0 END) + p_level * 10)::smallint,
            format('case:%s:%s:r%s', p_case, p_level, v_moves + 1))
    RETURNING id INTO v_job;
    UPDATE public.cases SET task_force = p_to, routing_source = p_source, state = 'open', due_at = p_due, warn_at = p_warn,
                     deadline_rule = p_rule, original_due_at = coalesce(original_due_at, p_due), current_job_id = v_job,
                     escalation_level = p_level, warned_level = NULL, breached_level = NULL
    WHERE id = p_case;
    INSERT INTO public.routing_corrections (case_id, text, from_task_force, to_task_force, reason, actor)
    VALUES (p_case, v_case.text, v_case.task_force, p_to, p_reason, v_actor);
    INSERT INTO public.case_events (case_id, type, actor, data) VALUES
        (p_case, p_event, v_actor, jsonb_strip_nulls(jsonb_build_object(
            'from', v_case.task_force, 'to', p_to, 'reason', p_reason, 'job_id', v_job, 'via', p_via))),
        (p_case, 'deadline_set', v_actor, jsonb_build_object('due_at', p_due, 'rule', p_rule)),
        (p_case, 'enqueued', v_actor, jsonb_build_object('job_id', v_job, 'queue', p_to, 'level', p_level));
    RETURN v_job;
END;
$$;
REVOKE ALL ON FUNCTION public.case_redispatch(bigint, bigint, text, text, text, text, text, integer, timestamptz, timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.case_redispatch(bigint, bigint, text, text, text, text, text, integer, timestamptz, timestamptz, text)
    TO taskforce_dispatcher, taskforce_worker, taskforce_maintainer;

-- A department hands a case to a person (triage): its handler found no task force for
-- it, or it was moved too often. Returns false when `p_from_job` is no longer the
-- case's job (nothing done).
CREATE FUNCTION public.case_to_triage(p_case bigint, p_from_job bigint, p_reason text, p_via text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_case public.cases%ROWTYPE;
BEGIN
    IF p_reason IS NULL OR length(p_reason) = 0 OR length(p_reason) > 2000 OR length(coalesce(p_via, '')) > 200 THEN
        RAISE EXCEPTION 'case_to_triage: reason (1-2000 characters) and via (up to 200) are required within bounds'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO v_case FROM public.cases WHERE id = p_case FOR UPDATE;
    IF NOT FOUND OR NOT public.caller_may_act_for(v_case.task_force) THEN
        RAISE EXCEPTION 'case % not found, or not yours to move', p_case USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF v_case.state <> 'open' OR (p_from_job IS NOT NULL AND v_case.current_job_id IS DISTINCT FROM p_from_job) THEN
        RETURN false;
    END IF;
    UPDATE public.queue_jobs
    SET state = 'cancelled', finished_at = now(), lease_token = NULL, lease_expires_at = NULL, locked_by = NULL
    WHERE id = v_case.current_job_id AND state IN ('available', 'scheduled', 'running', 'retryable');
    UPDATE public.cases SET task_force = 'triage', state = 'triage', current_job_id = NULL WHERE id = p_case;
    INSERT INTO public.case_events (case_id, type, actor, data) VALUES
        (p_case, 'rerouted', session_user, jsonb_strip_nulls(jsonb_build_object(
            'from', v_case.task_force, 'to', 'triage', 'reason', p_reason, 'via', p_via)));
    RETURN true;
END;
$$;
REVOKE ALL ON FUNCTION public.case_to_triage(bigint, bigint, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.case_to_triage(bigint, bigint, text, text)
    TO taskforce_dispatcher, taskforce_worker, taskforce_maintainer;

-- 6. Sequences: identity columns need no privilege; nextval() would only leak volumes.
REVOKE USAGE ON ALL SEQUENCES IN SCHEMA public FROM taskforce_worker;

-- 7. Keys and ids are unique across all task forces, while row-level security separates
-- them: a department must not plant a job key, an archive id or a resolution's job id that
-- another department's next job will need (its completions or escalations would then fail
-- or hang), nor rewrite columns of its cases that intake relies on.
-- The checks call small definer functions that look rows up by primary key: an EXISTS
-- subquery on `cases` inside a policy is planned as a hashed subplan, which scans every
-- case the department may see (with the RLS check per row) on every statement — 120 ms
-- at 20,000 cases, seconds at a million, enough to let heartbeats miss their leases.
CREATE FUNCTION public.case_is_mine(p_case bigint) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM public.cases c
                   WHERE c.id = p_case
                     AND c.task_force = ANY (ARRAY['tax', 'credit', 'legal', 'infrastructure', 'financing', 'innovation', 'foreign'])
                     AND pg_catalog.pg_has_role(session_user, pg_catalog.concat('taskforce_worker_', c.task_force), 'MEMBER'))
$$;
-- Whether a job (still queued, or just archived) belongs to one of the caller's cases.
CREATE FUNCTION public.job_is_of_my_case(p_job bigint, p_case bigint) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT public.case_is_mine(p_case)
       AND (EXISTS (SELECT 1 FROM public.queue_jobs j WHERE j.id = p_job AND (j.payload->>'case_id')::bigint = p_case)
            OR EXISTS (SELECT 1 FROM public.queue_job_archive a WHERE a.id = p_job AND (a.payload->>'case_id')::bigint = p_case))
$$;
-- Whether a queued job is in a queue the caller works (the completing statement still sees
-- the job it deletes while it archives it).
CREATE FUNCTION public.job_is_in_my_queue(p_job bigint, p_queue text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.pg_has_role(session_user, pg_catalog.concat('taskforce_worker_', p_queue), 'MEMBER')
       AND EXISTS (SELECT 1 FROM public.queue_jobs j WHERE j.id = p_job AND j.queue = p_queue)
$$;
REVOKE ALL ON FUNCTION public.case_is_mine(bigint), public.job_is_of_my_case(bigint, bigint),
    public.job_is_in_my_queue(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.case_is_mine(bigint), public.job_is_of_my_case(bigint, bigint),
    public.job_is_in_my_queue(bigint, text) TO taskforce_worker;

-- The ledger and the resolutions of a department's own cases (0007's EXISTS, by key).
ALTER POLICY own_task_force ON public.case_events
    USING (public.case_is_mine(case_id)) WITH CHECK (public.case_is_mine(case_id));
-- A resolution names a job of the same case that the department holds or just completed.
ALTER POLICY own_task_force ON public.resolutions
    USING (public.case_is_mine(case_id)) WITH CHECK (public.job_is_of_my_case(job_id, case_id));
-- A department's job carries the key of one of its own cases, or none.
ALTER POLICY own_task_force ON public.queue_jobs WITH CHECK (
    public.taskforce_may_access(queue)
    AND (unique_key IS NULL
         OR (kind OPERATOR(pg_catalog.=) 'case'
             AND unique_key OPERATOR(pg_catalog.~~) pg_catalog.concat('case:', payload OPERATOR(pg_catalog.->>) 'case_id', ':%')
             AND public.case_is_mine((payload OPERATOR(pg_catalog.->>) 'case_id')::bigint))));
-- Archived rows come only from its own jobs, moved there by the completing statement.
ALTER POLICY own_task_force ON public.queue_job_archive WITH CHECK (
    public.taskforce_may_access(queue) AND public.job_is_in_my_queue(id, queue));
-- Only the columns a worker's transitions change (close, first response, escalate,
-- deadline marks); never text, enterprise, external_id, task_force or routing.
REVOKE UPDATE ON public.cases FROM taskforce_worker;
GRANT UPDATE (state, resolved_at, first_response_at, escalation_level, due_at, warn_at, deadline_rule, current_job_id,
              warned_level, breached_level, updated_at) ON public.cases TO taskforce_worker;

-- A maintenance-only worker (worker --maintenance-only) registers itself too.
GRANT INSERT ON public.workers TO taskforce_maintainer;

-- The dashboard role never sees a handler's stderr unredacted: errors are scrubbed when
-- they are written (the worker), and the view masks anything that still looks like a
-- password (rows written before this migration, or by other programs).
CREATE OR REPLACE VIEW dashboard.discarded_jobs AS
SELECT j.id AS job_id, j.queue, j.kind, (j.payload->>'case_id')::bigint AS case_id, j.attempt AS attempts,
       j.finished_at,
       regexp_replace(regexp_replace(j.errors->-1->>'error',
           '(password|passwd|pwd|secret|token|bearer|basic)\M("?\s*[=:]?\s*)(''[^'']*''|"[^"]*"|[^\s&,}"]+)', '\1\2***', 'gi'),
           '(://[^:/@\s]+:)[^@\s]+@', '\1***@', 'g') AS last_error
FROM public.queue_jobs j WHERE j.state = 'discarded';

-- The maintainer refreshes the dashboards' aggregates (dashboard.refresh(), granted in
-- 0007), which needs the schema too: without it every refresh failed under the maintainer
-- role, and the historical figures went stale wherever least privilege was used.
GRANT USAGE ON SCHEMA dashboard TO taskforce_maintainer;
