/// The SQL of the worker side of the case ledger, in one place.
enum WorkerQueries {
    /// The facts a handler needs. Index: `cases` primary key.
    static let caseFacts = """
        SELECT id, text, task_force, language, escalation_level, repeat_count, routing_source, enterprise, contact,
               channel::text AS channel, kind, urgent, received_at, due_at, state::text AS state, current_job_id
        FROM cases WHERE id = $1
        """

    /// Resolutions of many jobs at once. `job_id` is unique: a job never gets two.
    static let insertResolutions = """
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
        """

    /// Closes resolved/rejected cases still carried by the completing job.
    /// Index: `cases` primary key.
    static let closeCases = """
        UPDATE cases c SET state = x.state::case_state, resolved_at = now()
        FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS x(case_id, job_id, state)
        WHERE c.id = x.case_id AND c.current_job_id = x.job_id AND c.state = 'open'
        RETURNING c.id
        """

    /// Marks the first answer a case got (any outcome). Index: primary key.
    static let firstResponse = """
        UPDATE cases SET first_response_at = now()
        WHERE id = ANY($1::bigint[]) AND first_response_at IS NULL
        """

    /// Refreshes the dashboards' historical aggregates (migration 0005).
    /// Refreshes the dashboards' aggregates unless someone (a dashboard server) did within
    /// `$1` ms; one refresher at a time.
    static let refreshDashboards = "SELECT dashboard.refresh_if_stale($1)"

    /// Locks one case for an escalation or reroute. Index: primary key.
    static let lockCase = """
        SELECT id, task_force, state::text AS state, escalation_level, urgent, kind, current_job_id, text
        FROM cases WHERE id = $1 FOR UPDATE
        """

    static let escalateCase = """
        UPDATE cases SET escalation_level = $2, due_at = $3, warn_at = $4, deadline_rule = $5, current_job_id = $6
        WHERE id = $1
        """

    static let topEscalation = "UPDATE cases SET state = 'escalated' WHERE id = $1"


    static let reroutesOfCase = "SELECT count(*) FROM case_events WHERE case_id = $1 AND type = 'rerouted'"

    /// Cases past their warning point, not yet warned at their level: marks them and
    /// returns them. Index: `cases_open_warn`.
    static let markWarnings = """
        UPDATE cases SET warned_level = escalation_level
        WHERE id IN (
            SELECT id FROM cases
            WHERE state = 'open' AND warn_at <= now() AND coalesce(warned_level, -1) < escalation_level
            ORDER BY warn_at LIMIT $1 FOR UPDATE SKIP LOCKED)
        RETURNING id, escalation_level, due_at
        """

    /// Cases past their due time, not yet breached at their level. Index: `cases_open_due`.
    static let dueBreaches = """
        SELECT id FROM cases
        WHERE state = 'open' AND due_at <= now() AND coalesce(breached_level, -1) < escalation_level
        ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED
        """

    static let markBreach = "UPDATE cases SET breached_level = escalation_level WHERE id = $1 RETURNING escalation_level, due_at"

    // MARK: Worker registry

    static let registerWorker = """
        INSERT INTO workers (name, host, pid, task_forces, handler, slots)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (name) DO UPDATE
        SET host = EXCLUDED.host, pid = EXCLUDED.pid, task_forces = EXCLUDED.task_forces, handler = EXCLUDED.handler,
            slots = EXCLUDED.slots, started_at = now(), last_heartbeat_at = now(), stopped_at = NULL,
            running_jobs = 0, completed_jobs = 0
        """

    static let workerHeartbeat = """
        UPDATE workers SET last_heartbeat_at = now(), running_jobs = $2, completed_jobs = $3, stuck_handlers = $4 WHERE name = $1
        """

    static let workerStopped = """
        UPDATE workers SET stopped_at = now(), last_heartbeat_at = now(), running_jobs = 0, stuck_handlers = 0,
               completed_jobs = greatest(completed_jobs, $2)
        WHERE name = $1
        """
}
