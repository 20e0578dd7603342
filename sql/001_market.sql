-- 001: the durable market (docs/architecture.md#ledger-rules, #durability).
-- Money is bigint micro-units, time is bigint unix seconds (UTC), ids are the engine's.
-- The command log is the source of truth for recovery; every other table is written
-- in the same transaction from the events those commands produced.

-- Every command the engine applied, in order, with the events it produced.
CREATE TABLE command_log (
  command_seq     bigint  PRIMARY KEY CHECK (command_seq > 0),
  at              bigint  NOT NULL,
  kind            text    NOT NULL,
  rejected        text    NOT NULL DEFAULT '',  -- the reason when it changed nothing
  first_event_seq bigint  NOT NULL,  -- 0 when it produced none
  event_count     integer NOT NULL CHECK (event_count >= 0),  -- a quiet tick has none
  command         bytea   NOT NULL,  -- the engine's canonical encoding; replayed at recovery
  events          text    NOT NULL   -- one canonical line per event; compared at replay
);
-- Sequence and time rise together, so a BRIN index answers time ranges at
-- almost no cost per insert (here and on the ledger below).
CREATE INDEX command_log_at ON command_log USING brin (at);

-- Engine state at a command sequence, so recovery replays only the tail of the log.
CREATE TABLE engine_snapshots (
  command_seq bigint PRIMARY KEY,
  taken_at    bigint NOT NULL,
  state       bytea  NOT NULL
);

-- Double-entry ledger. Balances are credit-positive: what the platform owes the
-- owner. 'external' mirrors money outside the platform (deposits make it negative),
-- so the balances of all accounts always sum to zero.
-- Enums, not text: readable in SQL, and compared as integers in the indexes
-- every posting inserts into.
CREATE TYPE ledger_account AS ENUM ('cash', 'hold', 'receivable', 'revenue', 'external');
CREATE TYPE ledger_txn_kind AS ENUM ('deposit', 'withdrawal', 'hold', 'release', 'settlement');

CREATE TABLE ledger_accounts (
  owner_id bigint NOT NULL,  -- the engine's account id; 0 for the platform's own accounts
  account  ledger_account NOT NULL,
  currency text   NOT NULL DEFAULT 'USD',
  balance  bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (owner_id, account),
  CONSTRAINT ledger_account_not_negative CHECK (account = 'external' OR balance >= 0)
);

CREATE TABLE ledger_transactions (
  txn_id      bigint PRIMARY KEY,  -- the sequence of the event that caused it
  command_seq bigint NOT NULL,
  at          bigint NOT NULL,
  kind        ledger_txn_kind NOT NULL,
  order_id    bigint NOT NULL DEFAULT 0,
  lease_id    bigint NOT NULL DEFAULT 0
);
CREATE INDEX ledger_transactions_at ON ledger_transactions USING brin (at);
CREATE INDEX ledger_transactions_lease ON ledger_transactions (lease_id) WHERE lease_id <> 0;

CREATE TABLE ledger_entries (
  txn_id   bigint NOT NULL,
  owner_id bigint NOT NULL,
  account  ledger_account NOT NULL,
  amount   bigint NOT NULL CHECK (amount <> 0),
  PRIMARY KEY (owner_id, account, txn_id)  -- also an account's statement, in order
);
CREATE INDEX ledger_entries_txn ON ledger_entries USING brin (txn_id);

-- Checked once per INSERT statement over the rows it added (set-based, so a batch
-- of thousands costs one aggregate, not a trigger per row). Entries are
-- append-only, so "every statement adds zero-sum entries per transaction" keeps
-- every transaction summing to zero. The same statement moves the balances, so
-- ledger_accounts can never disagree with the entries, and the non-negative
-- check on it rejects any overdraft.
-- The transition table has no statistics; without the SET the planner may hash
-- all of ledger_transactions to check a few thousand entries.
CREATE FUNCTION ledger_entries_posted() RETURNS trigger LANGUAGE plpgsql
  SET enable_hashjoin = off SET enable_mergejoin = off AS $$
DECLARE
  bad bigint;
BEGIN
  SELECT txn_id INTO bad FROM new_entries GROUP BY txn_id HAVING sum(amount) <> 0 LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'ledger transaction % does not sum to zero', bad
      USING ERRCODE = 'check_violation';
  END IF;
  SELECT e.txn_id INTO bad FROM new_entries e
    LEFT JOIN ledger_transactions t ON t.txn_id = e.txn_id
    WHERE t.txn_id IS NULL LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'ledger entry names unknown transaction %', bad
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  -- Two steps, not one upsert: PostgreSQL checks the proposed row of an
  -- INSERT .. ON CONFLICT before it finds the conflict, so a debit would fail
  -- the non-negative check even on an account that can afford it.
  INSERT INTO ledger_accounts (owner_id, account)
    SELECT DISTINCT owner_id, account FROM new_entries
    ON CONFLICT (owner_id, account) DO NOTHING;
  UPDATE ledger_accounts a SET balance = a.balance + d.total
    FROM (SELECT owner_id, account, sum(amount) AS total FROM new_entries
          GROUP BY owner_id, account) d
    WHERE a.owner_id = d.owner_id AND a.account = d.account;
  RETURN NULL;
END $$;

CREATE TRIGGER ledger_entries_posted AFTER INSERT ON ledger_entries
  REFERENCING NEW TABLE AS new_entries
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_posted();

CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_transactions_append_only BEFORE UPDATE OR DELETE ON ledger_transactions
  FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_transactions_no_truncate BEFORE TRUNCATE ON ledger_transactions
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER command_log_append_only BEFORE UPDATE OR DELETE ON command_log
  FOR EACH ROW EXECUTE FUNCTION ledger_append_only();

-- Current state of the market's objects, for the gateway and finance to query.
-- Named states are enums: readable, checked, and fixed-width (the persister's
-- staging tables then need no TOAST table to truncate at every commit).
CREATE TYPE listing_status AS ENUM ('active', 'withdrawn', 'closed');
CREATE TYPE order_target AS ENUM ('model', 'class');
CREATE TYPE order_strategy AS ENUM ('time_first', 'cost_first');
CREATE TYPE order_status AS ENUM ('accepted', 'deferred', 'resting', 'filled', 'cancelled');
CREATE TYPE unfilled_reason AS ENUM (
  'none', 'no_supply_meets_constraints', 'limit_below_best_ask', 'waiting_for_cheaper_tariff');
CREATE TYPE lease_status AS ENUM ('running', 'ended');
CREATE TYPE lease_end AS ENUM ('completed', 'stopped', 'reclaimed', 'interrupted');
CREATE TABLE nodes (
  node_id        bigint   PRIMARY KEY,
  supplier_id    bigint   NOT NULL,
  pool           smallint NOT NULL,
  region         smallint NOT NULL,
  zone           integer  NOT NULL,
  cards          integer  NOT NULL,
  measured_cu    bigint   NOT NULL,  -- milli compute units; 0 = the catalog's
  reliability_bp integer  NOT NULL,
  registered_at  bigint   NOT NULL
);
CREATE INDEX nodes_supplier ON nodes (supplier_id, node_id);

-- fillfactor: room on each page for in-place (HOT) updates of status columns.
CREATE TABLE listings (
  listing_id      bigint  PRIMARY KEY,
  node_id         bigint  NOT NULL,
  supplier_id     bigint  NOT NULL,
  cards           integer NOT NULL,
  price           bigint  NOT NULL,  -- per card-hour; the index at listing time when floating
  floating        boolean NOT NULL,
  available_from  bigint  NOT NULL,
  available_until bigint  NOT NULL,
  status          listing_status NOT NULL,
  created_at      bigint  NOT NULL,
  closed_at       bigint  NOT NULL DEFAULT 0
) WITH (fillfactor = 80);
CREATE INDEX listings_supplier ON listings (supplier_id, listing_id);

-- fillfactor: room on each page for in-place (HOT) updates of status columns.
CREATE TABLE orders (
  order_id        bigint   PRIMARY KEY,
  buyer_id        bigint   NOT NULL,
  parent_order_id bigint   NOT NULL DEFAULT 0,  -- set on a failover re-queue
  client_order_id bytea    NOT NULL,
  target_kind     order_target NOT NULL,
  pool            smallint NOT NULL,  -- model orders
  min_memory_gib  integer  NOT NULL,  -- class orders
  min_cu          bigint   NOT NULL,  -- class orders
  strategy        order_strategy NOT NULL,
  cards           integer  NOT NULL,
  duration        bigint   NOT NULL,
  limit_price     bigint   NOT NULL,  -- per card-hour (model) or CU-hour (class)
  expected_cost   bigint   NOT NULL,
  status          order_status NOT NULL,
  cards_open      integer  NOT NULL,
  cards_filled    integer  NOT NULL DEFAULT 0,
  hold            bigint   NOT NULL DEFAULT 0,
  unfilled_reason unfilled_reason NOT NULL DEFAULT 'none',
  created_at      bigint   NOT NULL,
  updated_at      bigint   NOT NULL
) WITH (fillfactor = 80);
CREATE INDEX orders_buyer ON orders (buyer_id, order_id);

-- fillfactor: room on each page for in-place (HOT) updates of status columns.
CREATE TABLE leases (
  lease_id     bigint   PRIMARY KEY,
  order_id     bigint   NOT NULL,
  listing_id   bigint   NOT NULL,
  node_id      bigint   NOT NULL,
  buyer_id     bigint   NOT NULL,
  supplier_id  bigint   NOT NULL,
  pool         smallint NOT NULL,
  cards        integer  NOT NULL,
  card_mask    bigint   NOT NULL,
  price        bigint   NOT NULL,  -- per card-hour
  started_at   bigint   NOT NULL,
  planned_end  bigint   NOT NULL,
  billable_end bigint   NOT NULL,
  reclaim_at   bigint   NOT NULL DEFAULT 0,
  status       lease_status NOT NULL,
  end_reason   lease_end,  -- set when it ends
  charged      bigint   NOT NULL DEFAULT 0,
  fees         bigint   NOT NULL DEFAULT 0
) WITH (fillfactor = 80);
CREATE INDEX leases_buyer ON leases (buyer_id, lease_id);
CREATE INDEX leases_supplier ON leases (supplier_id, lease_id);
CREATE INDEX leases_order ON leases (order_id);
CREATE INDEX leases_pool_started ON leases (pool, started_at);  -- recent trades

CREATE TABLE index_prices (
  event_seq bigint   PRIMARY KEY,
  pool      smallint NOT NULL,
  at        bigint   NOT NULL,
  price     bigint   NOT NULL  -- per card-hour
);
CREATE INDEX index_prices_pool_at ON index_prices (pool, at);
