-- 0006: keep the hot queue table small under sustained load.
-- Every completion deletes a row, so the table and its claim index fill with dead
-- tuples at the job rate (25,000/s here). The maintenance leader vacuums the table as
-- soon as enough dead tuples gather (QueueMaintenance.vacuumIfNeeded); autovacuum is
-- also told to treat it as the hot table it is, without cost-based throttling.
ALTER TABLE queue_jobs SET (
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 10000,
    autovacuum_vacuum_cost_delay = 0,
    autovacuum_analyze_scale_factor = 0.05
);
-- The archive only receives inserts: vacuum it for the visibility map, not for space.
ALTER TABLE queue_job_archive SET (
    autovacuum_vacuum_insert_scale_factor = 0.05,
    autovacuum_vacuum_cost_delay = 0
);
