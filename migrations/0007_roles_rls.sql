-- 0007: least-privilege roles and row-level security.
--
-- Group roles (NOLOGIN; map real logins to them with `dispatcher roles login`):
--   taskforce_dispatcher      intake and routing: every case, every queue
--   taskforce_worker_<tf>     one per task force: only that task force's cases, jobs,
--                             events and resolutions (row-level security)
--   taskforce_maintainer      the maintenance leader's work across all queues (rescue,
--                             promotion, pruning, deadlines, dashboard refresh)
--   taskforce_dashboard       the views of schema dashboard only (migration 0005)
-- The migration owner owns everything and is not subject to these policies.
-- Moving a case to another task force goes through case_redispatch(), a SECURITY
-- DEFINER function that checks the caller may act for the case's current task force.

DO $$
DECLARE
    name text;
BEGIN
    FOREACH name IN ARRAY ARRAY['taskforce_dispatcher', 'taskforce_maintainer', 'taskforce_worker',
        'taskforce_worker_tax', 'taskforce_worker_credit', 'taskforce_worker_legal', 'taskforce_worker_infrastructure',
        'taskforce_worker_financing', 'taskforce_worker_innovation', 'taskforce_worker_foreign'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = name) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', name);
        END IF;
    END LOOP;
    FOREACH name IN ARRAY ARRAY['tax', 'credit', 'legal', 'infrastructure', 'financing', 'innovation', 'foreign'] LOOP
        EXECUTE format('GRANT taskforce_worker TO %I', 'taskforce_worker_' || name);
    END LOOP;
END;
$$;

-- The task force a session may work for: from its membership in taskforce_worker_<tf>.
CREATE FUNCTION taskforce_may_access(task_force text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT pg_has_role(current_user, 'taskforce_worker_' || task_force, 'MEMBER')
    WHERE task_force IN ('tax', 'credit', 'legal', 'infrastructure', 'financing', 'innovation', 'foreign')
$$;

-- Privileges.
GRANT USAGE ON SCHEMA public TO taskforce_dispatcher, taskforce_worker, taskforce_maintainer;
GRANT SELECT, INSERT, UPDATE ON cases, queue_jobs TO taskforce_dispatcher, taskforce_maintainer;
GRANT SELECT, INSERT ON case_events, routing_corrections TO taskforce_dispatcher, taskforce_maintainer;
GRANT SELECT ON queue_job_archive, resolutions, workers, queue_paused, queue_leader, schema_migrations TO taskforce_dispatcher;
GRANT INSERT, DELETE ON queue_paused TO taskforce_dispatcher;
GRANT SELECT, INSERT, UPDATE, DELETE ON queue_jobs, queue_job_archive, queue_leader TO taskforce_maintainer;
GRANT SELECT, UPDATE ON workers TO taskforce_maintainer;
GRANT SELECT ON queue_paused, resolutions TO taskforce_maintainer;
GRANT EXECUTE ON FUNCTION dashboard.refresh() TO taskforce_maintainer;

GRANT SELECT, UPDATE ON cases TO taskforce_worker;
GRANT SELECT, INSERT ON case_events, resolutions TO taskforce_worker;
GRANT SELECT, INSERT, UPDATE, DELETE ON queue_jobs TO taskforce_worker;
GRANT SELECT, INSERT ON queue_job_archive TO taskforce_worker;
GRANT SELECT ON queue_paused TO taskforce_worker;
GRANT SELECT, INSERT, UPDATE ON workers TO taskforce_worker;

-- Row-level security.
ALTER TABLE cases ENABLE ROW LEVEL SECURITY;
ALTER TABLE case_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE queue_jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE queue_job_archive ENABLE ROW LEVEL SECURITY;
ALTER TABLE resolutions ENABLE ROW LEVEL SECURITY;
ALTER TABLE routing_corrections ENABLE ROW LEVEL SECURITY;

CREATE POLICY everything ON cases TO taskforce_dispatcher, taskforce_maintainer USING (true) WITH CHECK (true);
CREATE POLICY everything ON case_events TO taskforce_dispatcher, taskforce_maintainer USING (true) WITH CHECK (true);
CREATE POLICY everything ON queue_jobs TO taskforce_dispatcher, taskforce_maintainer USING (true) WITH CHECK (true);
CREATE POLICY everything ON queue_job_archive TO taskforce_dispatcher, taskforce_maintainer USING (true) WITH CHECK (true);
CREATE POLICY everything ON resolutions TO taskforce_dispatcher, taskforce_maintainer USING (true) WITH CHECK (true);
CREATE POLICY everything ON routing_corrections TO taskforce_dispatcher, taskforce_maintainer USING (true) WITH CHECK (true);

CREATE POLICY own_task_force ON cases TO taskforce_worker
    USING (taskforce_may_access(task_force)) WITH CHECK (taskforce_may_access(task_force));
CREATE POLICY own_task_force ON queue_jobs TO taskforce_worker
    USING (taskforce_may_access(queue)) WITH CHECK (taskforce_may_access(queue));
CREATE POLICY own_task_force ON queue_job_archive TO taskforce_worker
    USING (taskforce_may_access(queue)) WITH CHECK (taskforce_may_access(queue));
CREATE POLICY own_task_force ON case_events TO taskforce_worker
    USING (EXISTS (SELECT 1 FROM cases c WHERE c.id = case_id))
    WITH CHECK (EXISTS (SELECT 1 FROM cases c WHERE c.id = case_id));
CREATE POLICY own_task_force ON resolutions TO taskforce_worker
    USING (EXISTS (SELECT 1 FROM cases c WHERE c.id = case_id))
    WITH CHECK (EXISTS (SELECT 1 FROM cases c WHERE c.id = case_id));

-- Moves a case to another task force (reroute, triage assignment): the new job, the
-- case's new routing and deadline, the correction and the ledger events, in one step.
-- Runs as the owner, after checking that the caller may act for the case's current
-- task force (or is the dispatcher, the maintainer or the owner).
CREATE FUNCTION case_redispatch(
    p_case bigint, p_to text, p_source text, p_event text, p_reason text, p_actor text,
    p_level integer, p_priority smallint, p_unique_key text, p_due timestamptz, p_warn timestamptz, p_rule text
) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    v_case cases%ROWTYPE;
    v_job bigint;
BEGIN
    SELECT * INTO v_case FROM cases WHERE id = p_case FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no case %', p_case USING ERRCODE = 'no_data_found';
    END IF;
    IF NOT (session_user = (SELECT tableowner FROM pg_tables WHERE tablename = 'cases' AND schemaname = 'public')
            OR pg_has_role(session_user, 'taskforce_dispatcher', 'MEMBER')
            OR pg_has_role(session_user, 'taskforce_maintainer', 'MEMBER')
            OR (v_case.task_force <> 'triage' AND pg_has_role(session_user, 'taskforce_worker_' || v_case.task_force, 'MEMBER'))
            OR (SELECT rolsuper FROM pg_roles WHERE rolname = session_user)) THEN
        RAISE EXCEPTION 'role % may not move a % case', session_user, v_case.task_force USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO queue_jobs (queue, kind, payload, priority, unique_key)
    VALUES (p_to, 'case', jsonb_build_object('case_id', p_case, 'level', p_level), p_priority, p_unique_key)
    RETURNING id INTO v_job;
    UPDATE cases SET task_force = p_to, routing_source = p_source, state = 'open', due_at = p_due, warn_at = p_warn,
                     deadline_rule = p_rule, original_due_at = coalesce(original_due_at, p_due), current_job_id = v_job,
                     warned_level = NULL, breached_level = NULL
    WHERE id = p_case;
    INSERT INTO routing_corrections (case_id, text, from_task_force, to_task_force, reason, actor)
    VALUES (p_case, v_case.text, v_case.task_force, p_to, p_reason, p_actor);
    INSERT INTO case_events (case_id, type, actor, data) VALUES
        (p_case, p_event, p_actor, jsonb_build_object('from', v_case.task_force, 'to', p_to, 'reason', p_reason, 'job_id', v_job)),
        (p_case, 'deadline_set', p_actor, jsonb_build_object('due_at', p_due, 'rule', p_rule)),
        (p_case, 'enqueued', p_actor, jsonb_build_object('job_id', v_job, 'queue', p_to, 'level', p_level));
    RETURN v_job;
END;
$$;
REVOKE ALL ON FUNCTION case_redispatch(bigint, text, text, text, text, text, integer, smallint, text, timestamptz, timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION case_redispatch(bigint, text, text, text, text, text, integer, smallint, text, timestamptz, timestamptz, text)
    TO taskforce_dispatcher, taskforce_worker, taskforce_maintainer;

GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO taskforce_dispatcher, taskforce_worker, taskforce_maintainer;
