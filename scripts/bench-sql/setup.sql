-- Raw-SQL limit benchmark: bare job table, filled with :jobs ready jobs.
-- Usage: psql "$DSN" -v ON_ERROR_STOP=1 -v jobs=20000 -f setup.sql
\if :{?jobs}
\else
\set jobs 20000
\endif

DROP TABLE IF EXISTS bench_jobs;

CREATE TABLE bench_jobs (
    id       bigserial   PRIMARY KEY,
    queue    text        NOT NULL,
    state    smallint    NOT NULL DEFAULT 0,   -- 0 ready, 1 claimed (completed rows are deleted)
    payload  jsonb       NOT NULL DEFAULT '{}',
    run_at   timestamptz NOT NULL DEFAULT now(),
    attempt  int         NOT NULL DEFAULT 0
);

-- Only ready jobs are indexed: the claim query walks this index in order.
CREATE INDEX bench_jobs_ready_idx ON bench_jobs (queue, run_at, id) WHERE state = 0;

INSERT INTO bench_jobs (queue)
SELECT 'default' FROM generate_series(1, :jobs);

VACUUM ANALYZE bench_jobs;

SELECT count(*) AS ready_jobs FROM bench_jobs WHERE state = 0;

-- Flush the fill's WAL now, so that a checkpoint does not land inside the
-- timed run (only if this role may; durability settings are left alone).
SELECT rolsuper OR pg_has_role(current_user, 'pg_checkpoint', 'MEMBER') AS can_checkpoint
  FROM pg_roles WHERE rolname = current_user \gset
\if :can_checkpoint
CHECKPOINT;
\endif
