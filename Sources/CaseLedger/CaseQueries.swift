/// Every SQL statement of the case ledger, in one place, each with the index it uses.
enum CaseQueries {
    /// Cases already taken in under these external ids. Index: `cases_external_id_key`.
    static let existingExternalIDs = """
        SELECT external_id, id, task_force FROM cases WHERE external_id = ANY($1::text[])
        """

    /// Open cases of these enterprises received within the window (`$2` ms), for
    /// repeated-demand linking. Index: `cases_enterprise_open`.
    static let openCasesOfEnterprises = """
        SELECT id, enterprise, text FROM cases
        WHERE enterprise = ANY($1::text[]) AND state IN ('open', 'triage')
          AND received_at > now() - $2 * interval '1 millisecond'
        ORDER BY received_at DESC
        """

    /// Cases whose content key is the SHA-256 of one of these sources ($1), with the
    /// source. Index: `cases_content_key_key`.
    static let existingContentKeys = """
        SELECT s.source, c.id, c.task_force
        FROM unnest($1::text[]) AS s(source)
        JOIN cases c ON c.content_key = encode(sha256(convert_to(s.source, 'UTF8')), 'hex')
        """

    /// Inserts a batch of cases in input order; a repeated external id or content key is
    /// skipped (the caller resolves it to the stored case). `$19` is each row's content
    /// key source (NULL for none); the key stored is its hex SHA-256, and each inserted
    /// row is returned with its source. Index: `cases_external_id_key`,
    /// `cases_content_key_key` (conflict arbiters).
    static let insertCases = """
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
        """

    /// Appends ledger events (parallel arrays). Index: none (append).
    static let insertEvents = """
        INSERT INTO case_events (case_id, type, actor, data)
        SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::jsonb[])
        """

    /// Records which job carries each case now. Index: primary key.
    static let setCurrentJobs = """
        UPDATE cases c SET current_job_id = j.job_id
        FROM unnest($1::bigint[], $2::bigint[]) AS j(case_id, job_id)
        WHERE c.id = j.case_id
        """

    /// Counts a repeated demand on its original case. Index: primary key.
    static let countRepeats = """
        UPDATE cases c SET repeat_count = c.repeat_count + r.n
        FROM (SELECT id, count(*)::int AS n FROM unnest($1::bigint[]) AS id GROUP BY id) r
        WHERE c.id = r.id
        """

    /// Per task force: open, overdue, escalated, resolved cases, plus running and
    /// discarded jobs of its queue. Index: `cases_task_force_state`, `queue_jobs` is small.
    static let status = """
        SELECT tf.name AS task_force,
               (SELECT count(*) FROM cases c WHERE c.task_force = tf.name AND c.state = 'open') AS open,
               (SELECT count(*) FROM queue_jobs j WHERE j.queue = tf.name AND j.state = 'running') AS running,
               (SELECT count(*) FROM cases c WHERE c.task_force = tf.name AND c.state = 'open' AND c.due_at < now()) AS overdue,
               (SELECT count(*) FROM cases c WHERE c.task_force = tf.name
                   AND (c.state = 'escalated' OR (c.state = 'open' AND c.escalation_level > 0))) AS escalated,
               (SELECT count(*) FROM cases c WHERE c.task_force = tf.name AND c.state = 'resolved') AS resolved,
               (SELECT count(*) FROM queue_jobs j WHERE j.queue = tf.name AND j.state = 'discarded') AS discarded
        FROM unnest($1::text[]) AS tf(name)
        """

    /// The triage backlog, oldest first. Index: `cases_task_force_state`.
    static let triageBacklog = """
        SELECT id, received_at, enterprise, text, confidence, routing_terms::text AS terms
        FROM cases WHERE state = 'triage' ORDER BY received_at, id LIMIT $1
        """

    static let caseByID = """
        SELECT id, external_id, text, enterprise, contact, channel::text AS channel, language, received_at, task_force,
               confidence, routing_source, routing_terms::text AS routing_terms, kind, urgent, escalation_level,
               state::text AS state, original_due_at, due_at, warn_at, deadline_rule, duplicate_of, repeat_count,
               current_job_id, resolved_at
        FROM cases WHERE id = $1
        """

    static let lockCase = """
        SELECT id, text, task_force, state::text AS state, current_job_id, received_at, kind, urgent, escalation_level
        FROM cases WHERE id = $1 FOR UPDATE
        """

    static let eventsOfCase = """
        SELECT id, at, type, actor, login::text AS login, data::text AS data FROM case_events WHERE case_id = $1 ORDER BY id
        """

    static let corrections = """
        SELECT DISTINCT ON (case_id) text, to_task_force FROM routing_corrections ORDER BY case_id, id DESC
        """

    /// Moves a case to another task force (reroute or triage assignment): the function
    /// of migration 0007, which checks the caller's role. Index: primary keys.
    static let redispatch = """
        SELECT public.case_redispatch($1, $2::bigint, $3, $4, $5, $6, $7, $8::integer, $9, $10, $11)
        """

    /// Sends a case to triage (migration 0008's `case_to_triage`). Index: primary key.
    static let toTriage = "SELECT public.case_to_triage($1, $2::bigint, $3, $4)"

    static let cancelCase = """
        UPDATE cases SET state = 'cancelled', resolved_at = now() WHERE id = $1
        """
}
