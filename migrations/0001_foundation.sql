-- 0001: foundation.
-- The migration runner creates schema_migrations itself; this file sets up what
-- every later migration relies on.

-- A schema-wide helper: keep updated_at columns honest where a table opts in.
CREATE OR REPLACE FUNCTION touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
