-- 007: API keys as a resource their account manages (issue 14): a label to
-- tell them apart and an optional expiry, after which the key is refused as a
-- revoked one is.
ALTER TABLE api_keys
  ADD COLUMN label text NOT NULL DEFAULT '' CHECK (length(label) <= 64),
  ADD COLUMN expires_at timestamptz;
