-- 0003: the case ledger. A case is one enterprise problem; its events are an
-- append-only ledger of everything that happened to it.

CREATE TYPE case_channel AS ENUM ('hotline', 'app', 'cadre_visit', 'chamber_of_commerce', 'complaint', 'import');

-- triage: waits for a person to route it (no job).
-- open: queued or being worked on at escalation_level (0 unit, 1 department, 2 task force).
-- resolved / rejected: a worker answered. escalated: at the top of the chain, awaiting
-- the task force's people. merged: a repeated demand linked to an open case.
-- cancelled: withdrawn by an operator.
CREATE TYPE case_state AS ENUM ('triage', 'open', 'resolved', 'rejected', 'escalated', 'merged', 'cancelled');

CREATE TABLE cases (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    external_id      text UNIQUE CHECK (external_id IS NULL OR length(external_id) BETWEEN 1 AND 200),
    text             text        NOT NULL CHECK (length(btrim(text)) > 0 AND length(text) <= 20000),
    enterprise       text        CHECK (enterprise IS NULL OR length(enterprise) <= 500),
    contact          text        CHECK (contact IS NULL OR length(contact) <= 500),
    channel          case_channel NOT NULL,
    language         text        NOT NULL CHECK (language IN ('zh-Hans', 'zh-Hant', 'en')),
    received_at      timestamptz NOT NULL DEFAULT now(),
    task_force       text        NOT NULL CHECK (task_force IN
                        ('tax', 'credit', 'legal', 'infrastructure', 'financing', 'innovation', 'foreign', 'triage')),
    confidence       real        CHECK (confidence BETWEEN 0 AND 1),
    routing_source   text        NOT NULL CHECK (routing_source IN ('automatic', 'manual', 'corrected')),
    routing_terms    jsonb       NOT NULL DEFAULT '[]',
    kind             text,
    urgent           boolean     NOT NULL DEFAULT false,
    escalation_level smallint    NOT NULL DEFAULT 0 CHECK (escalation_level BETWEEN 0 AND 2),
    state            case_state  NOT NULL,
    original_due_at  timestamptz,
    due_at           timestamptz,
    warn_at          timestamptz,
    deadline_rule    text,
    -- Set once per breach level so the deadline enforcer acts exactly once.
    warned_level     smallint,
    breached_level   smallint,
    duplicate_of     bigint REFERENCES cases (id),
    repeat_count     integer     NOT NULL DEFAULT 0,
    current_job_id   bigint,
    resolved_at      timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Status per task force and state (dispatcher status, dashboards).
CREATE INDEX cases_task_force_state ON cases (task_force, state);
-- Repeated-demand lookup: open cases of an enterprise, newest first.
CREATE INDEX cases_enterprise_open ON cases (enterprise, received_at DESC)
    WHERE state IN ('open', 'triage') AND enterprise IS NOT NULL;
-- Deadline enforcement: unresolved cases by warning point and due time.
CREATE INDEX cases_open_warn ON cases (warn_at) WHERE state = 'open';
CREATE INDEX cases_open_due ON cases (due_at) WHERE state = 'open';

CREATE TRIGGER cases_touch BEFORE UPDATE ON cases
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- The append-only ledger.
CREATE TABLE case_events (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id  bigint      NOT NULL REFERENCES cases (id),
    at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    type     text        NOT NULL CHECK (type IN (
        'received', 'classified', 'deadline_set', 'enqueued', 'claimed', 'attempt_failed', 'resolved',
        'rejected', 'escalated', 'rerouted', 'merged', 'repeated', 'reopened', 'assigned', 'cancelled',
        'deadline_warning', 'deadline_breached', 'discarded')),
    actor    text        NOT NULL,
    data     jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX case_events_case ON case_events (case_id, id);

CREATE FUNCTION case_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'case_events is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER case_events_no_update BEFORE UPDATE OR DELETE ON case_events
    FOR EACH ROW EXECUTE FUNCTION case_events_append_only();
CREATE TRIGGER case_events_no_truncate BEFORE TRUNCATE ON case_events
    FOR EACH STATEMENT EXECUTE FUNCTION case_events_append_only();

-- Corrections of misrouted cases, kept as labelled examples for retraining.
CREATE TABLE routing_corrections (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id         bigint      NOT NULL REFERENCES cases (id),
    text            text        NOT NULL,
    from_task_force text        NOT NULL,
    to_task_force   text        NOT NULL,
    reason          text        NOT NULL,
    actor           text        NOT NULL,
    at              timestamptz NOT NULL DEFAULT now()
);
