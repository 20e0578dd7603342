-- 010: webhooks (issue 14). An account registers endpoints; the persister
-- writes one delivery per (endpoint, event) in the same transaction as the
-- events (an outbox: no notification is lost or invented by a crash), and the
-- gateway's dispatcher sends them, signed, until the endpoint answers 2xx or
-- the retry window closes.
CREATE TABLE webhook_endpoints (
  endpoint_id        bigint   PRIMARY KEY GENERATED ALWAYS AS IDENTITY (START WITH 1),
  account_id         bigint   NOT NULL,
  url                text     NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
  event_types        text[]   NOT NULL CHECK (cardinality(event_types) BETWEEN 1 AND 16),
  balance_low_micros bigint   NOT NULL DEFAULT 0 CHECK (balance_low_micros >= 0),
  secret             text     NOT NULL CHECK (length(secret) BETWEEN 32 AND 128),
  created_at         bigint   NOT NULL,
  disabled_at        bigint,
  -- A failing endpoint backs off as a whole: failed probes since its last
  -- success, and when it may be tried again (0: now). So a dead endpoint is
  -- probed ever more rarely, not once per event, and holds up nobody else.
  consecutive_failures integer NOT NULL DEFAULT 0,
  retry_at             bigint  NOT NULL DEFAULT 0,
  -- Senders take turns by endpoint (least recently served first), and an
  -- account has one attempt in flight at a time (busy_until: its claim), so
  -- one account's slow receivers hold one sender, not all of them.
  served_at            bigint  NOT NULL DEFAULT 0,
  busy_until           bigint  NOT NULL DEFAULT 0
);
CREATE INDEX webhook_endpoints_account ON webhook_endpoints (account_id)
  WHERE disabled_at IS NULL;
CREATE INDEX webhook_endpoints_turn ON webhook_endpoints (served_at, endpoint_id)
  WHERE disabled_at IS NULL;

CREATE TYPE webhook_status AS ENUM ('pending', 'delivered', 'failed');

-- event_id is the engine's event sequence: the receiver's dedupe key.
-- next_attempt_at doubles as the claim: a sender moves it past the time its
-- attempt can take, so a sender that dies mid-attempt leaves the row to be
-- sent again (at least once) and never lost; `attempts` is the claim's token
-- (a result is recorded only by the attempt that holds the row).
CREATE TABLE webhook_deliveries (
  endpoint_id      bigint   NOT NULL,
  event_id         bigint   NOT NULL,
  type             text     NOT NULL,
  created_at       bigint   NOT NULL,
  payload          text     NOT NULL,
  status           webhook_status NOT NULL DEFAULT 'pending',
  attempts         integer  NOT NULL DEFAULT 0,
  next_attempt_at  bigint   NOT NULL DEFAULT 0,
  last_attempt_at  bigint,
  last_status_code integer,
  last_error       text CHECK (length(last_error) <= 512),
  delivered_at     bigint,
  PRIMARY KEY (endpoint_id, event_id)
);
-- An endpoint's oldest due delivery, without reading anyone else's backlog.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (endpoint_id, next_attempt_at, event_id)
  WHERE status = 'pending';
