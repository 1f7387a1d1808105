-- 0004: resolutions (one per job at most, written with the job's completion) and the
-- registry of worker processes.

CREATE TABLE resolutions (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id          bigint      NOT NULL REFERENCES cases (id),
    -- A job can never carry two resolutions: the fence of last resort.
    job_id           bigint      NOT NULL UNIQUE,
    attempt          integer     NOT NULL,
    escalation_level smallint    NOT NULL,
    outcome          text        NOT NULL CHECK (outcome IN ('resolved', 'escalate', 'reroute', 'reject')),
    summary          text        NOT NULL,
    reply            text,
    measures         integer[]   NOT NULL DEFAULT '{}',
    responsible_unit text,
    next_step        text,
    reroute_to       text,
    handler          text        NOT NULL,
    worker           text        NOT NULL,
    -- Seconds: handler run time, and from case receipt to this resolution.
    handler_seconds  double precision NOT NULL,
    case_age_seconds double precision NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX resolutions_case ON resolutions (case_id);

-- Live worker processes, for dashboards ("who is alive").
CREATE TABLE workers (
    name              text PRIMARY KEY,
    host              text        NOT NULL,
    pid               integer     NOT NULL,
    task_forces       text[]      NOT NULL,
    handler           text        NOT NULL,
    slots             integer     NOT NULL,
    started_at        timestamptz NOT NULL DEFAULT now(),
    last_heartbeat_at timestamptz NOT NULL DEFAULT now(),
    stopped_at        timestamptz,
    running_jobs      integer     NOT NULL DEFAULT 0,
    completed_jobs    bigint      NOT NULL DEFAULT 0
);
