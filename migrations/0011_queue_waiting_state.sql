-- 0011: the `waiting` state of queue jobs (docs/queue.md, "Waiting for an event or a time",
-- "Dependencies").
--
-- Alone in its file: PostgreSQL cannot use an enum value in the transaction that adds it,
-- and each migration file runs in a transaction of its own; 0012 uses it.
--   waiting   not claimable until a signal of its wait key, its timeout, or (for a job
--             with dependencies) the last of its dependencies finishing
ALTER TYPE queue_job_state ADD VALUE IF NOT EXISTS 'waiting' AFTER 'scheduled';
