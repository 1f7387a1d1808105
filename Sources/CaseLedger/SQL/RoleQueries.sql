-- The statements of role administration (`dispatcher roles`). Role DDL cannot take bound
-- parameters: DatabaseRoles builds it from identifiers quoted by libpq instead.

-- name: roleExists
-- index: none (catalog lookup by pg_authid's name index)
SELECT 1 FROM pg_roles WHERE rolname = $1

-- name: applyLoginSettings
-- index: none (calls public.apply_login_settings() of migration 0009)
-- Gives a login its group's statement and idle-in-transaction timeouts; returns how many.
SELECT public.apply_login_settings($1) AS applied
