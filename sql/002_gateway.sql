-- 002: who may call the gateway (docs/architecture.md#security).
-- Accounts are the engine's account ids, issued here; API keys are stored as
-- SHA-256 of their secret (the secret is 256 random bits, so a fast hash is
-- enough: nothing to brute-force), looked up by their public id.

CREATE TYPE api_role AS ENUM ('buyer', 'supplier', 'finance', 'operator', 'agent');

-- Engine account ids start at 1 (0 is the platform).
CREATE TABLE accounts (
  account_id bigint      PRIMARY KEY GENERATED ALWAYS AS IDENTITY (START WITH 1),
  name       text        NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
  role       api_role    NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  key_id      text        PRIMARY KEY CHECK (key_id ~ '^[0-9a-f]{16}$'),
  secret_hash bytea       NOT NULL CHECK (length(secret_hash) = 32),
  account_id  bigint      NOT NULL,  -- 0 for platform roles (operator, finance)
  role        api_role    NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);
CREATE INDEX api_keys_account ON api_keys (account_id);
