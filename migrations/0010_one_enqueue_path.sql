-- 0010: one enqueue path and one cancel path into the queue.
--
-- queue_enqueue() is the only statement that inserts queue jobs one by one or in
-- batches: QueueCore's JobQueue.enqueue calls it (SQL/JobQueries.sql, `enqueue`), and so
-- does the case ledger's definer function case_redispatch(), which until now wrote its own
-- INSERT INTO queue_jobs. queue_cancel() likewise is the one cancel of an unfinished job,
-- for JobQueue.cancel and for case_redispatch() and case_to_triage(). Both run with the
-- caller's rights (SECURITY INVOKER), so row-level security applies to a department's
-- own calls; inside the definer functions they act as the schema owner, after those
-- functions' own checks. (COPY, QueueCore's bulk path without unique keys, stays COPY.)

CREATE FUNCTION public.queue_enqueue(
    p_queue text[], p_kind text[], p_payload jsonb[], p_priority smallint[], p_run_at timestamptz[],
    p_max_attempts integer[], p_unique_key text[], p_time_limit_ms integer[]
) RETURNS TABLE (id bigint, unique_key text)
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    -- In input order (identity ids ascend with input position). A job whose unique key is
    -- already held by an unfinished job is skipped: no row comes back for it.
    INSERT INTO public.queue_jobs (queue, kind, payload, priority, run_at, state, max_attempts, unique_key, time_limit_ms)
    SELECT i.queue, i.kind, i.payload, i.priority, coalesce(i.run_at, now()),
           CASE WHEN i.run_at IS NULL OR i.run_at <= now() THEN 'available' ELSE 'scheduled' END::public.queue_job_state,
           i.max_attempts, i.unique_key, i.time_limit_ms
    FROM unnest(p_queue, p_kind, p_payload, p_priority, p_run_at, p_max_attempts, p_unique_key, p_time_limit_ms)
         WITH ORDINALITY AS i(queue, kind, payload, priority, run_at, max_attempts, unique_key, time_limit_ms, n)
    ORDER BY i.n
    ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND state NOT IN ('discarded', 'cancelled')
    DO NOTHING
    RETURNING queue_jobs.id, queue_jobs.unique_key
$$;

CREATE FUNCTION public.queue_cancel(p_job bigint) RETURNS SETOF bigint
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    -- A running job's lease is revoked: its worker's heartbeat learns of it, and its late
    -- completion is refused. Nothing comes back when the job is finished or unknown.
    UPDATE public.queue_jobs
    SET state = 'cancelled', finished_at = now(), lease_token = NULL, lease_expires_at = NULL, locked_by = NULL
    WHERE id = p_job AND state IN ('available', 'scheduled', 'running', 'retryable')
    RETURNING id
$$;

CREATE OR REPLACE FUNCTION public.case_redispatch(
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
    PERFORM public.queue_cancel(v_case.current_job_id) WHERE v_case.current_job_id IS NOT NULL;

    SELECT count(*) INTO v_moves FROM public.case_events e WHERE e.case_id = p_case AND e.type IN ('rerouted', 'assigned');
    SELECT e.id INTO v_job FROM public.queue_enqueue(
        ARRAY[p_to], ARRAY['case'], ARRAY[jsonb_build_object('case_id', p_case, 'level', p_level)],
        ARRAY[((CASE WHEN v_case.urgent THEN 10 ELSE 0 END) + p_level * 10)::smallint], ARRAY[NULL::timestamptz],
        ARRAY[10], ARRAY[format('case:%s:%s:r%s', p_case, p_level, v_moves + 1)], ARRAY[NULL::integer]) AS e;
    IF v_job IS NULL THEN
        RAISE EXCEPTION 'case %: the job key case:%:%:r% is already taken', p_case, p_case, p_level, v_moves + 1
            USING ERRCODE = 'unique_violation';
    END IF;
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

CREATE OR REPLACE FUNCTION public.case_to_triage(p_case bigint, p_from_job bigint, p_reason text, p_via text) RETURNS boolean
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
    PERFORM public.queue_cancel(v_case.current_job_id) WHERE v_case.current_job_id IS NOT NULL;
    UPDATE public.cases SET task_force = 'triage', state = 'triage', current_job_id = NULL WHERE id = p_case;
    INSERT INTO public.case_events (case_id, type, actor, data) VALUES
        (p_case, 'rerouted', session_user, jsonb_strip_nulls(jsonb_build_object(
            'from', v_case.task_force, 'to', 'triage', 'reason', p_reason, 'via', p_via)));
    RETURN true;
END;
$$;
