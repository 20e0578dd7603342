-- Idempotency keys recorded while Redis is unavailable (the gateway's fallback).
-- One row per (scope, key): the request's fingerprint, and its answer once known.
CREATE TABLE idempotency_keys (
  scope text NOT NULL,
  idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
  fingerprint text NOT NULL,
  status smallint CHECK (status BETWEEN 100 AND 599),
  response text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope, idempotency_key)
);
