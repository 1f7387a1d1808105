-- One pgbench transaction = what a perfect worker does for a batch of 50 jobs,
-- in exactly 2 round trips (each statement autocommits, like a real worker's
-- claim and completion; the no-op "work" happens in between):
--   1. claim up to 50 ready jobs, oldest first, skipping rows other clients hold;
--   2. complete the claimed jobs (DELETE).
-- The claimed ids come back as one "1,2,3" string via \gset and are pasted into
-- the second statement, so run pgbench in its default simple query mode
-- (not -M extended / -M prepared).
-- Usage: pgbench -n -f claim_complete.sql -c 8 -j 2 -t T   (T = jobs / (8 * 50))

WITH claimed AS (
    UPDATE bench_jobs
       SET state = 1, attempt = attempt + 1
     WHERE id IN (
            SELECT id
              FROM bench_jobs
             WHERE queue = 'default' AND state = 0 AND run_at <= now()
             ORDER BY run_at, id
             LIMIT 50
               FOR UPDATE SKIP LOCKED)
    RETURNING id
)
SELECT coalesce(string_agg(id::text, ','), '0') AS ids FROM claimed
\gset

DELETE FROM bench_jobs WHERE id IN (:ids);
