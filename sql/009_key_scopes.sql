-- 009: API keys with a scope (issue 14): full, read-only or billing-only
-- within their role, and a record of their last use (when, from which address),
-- written about once a second by the gateway.
CREATE TYPE api_key_scope AS ENUM ('full', 'read', 'billing');
-- A rotated key names its replacement: it is not rotated twice.
ALTER TABLE api_keys
  ADD COLUMN scope api_key_scope NOT NULL DEFAULT 'full',
  ADD COLUMN replaced_by text,
  ADD COLUMN last_used_at timestamptz,
  ADD COLUMN last_used_from text CHECK (length(last_used_from) <= 64);
