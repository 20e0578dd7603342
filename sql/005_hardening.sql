-- 005: front-door hardening (issue 12).

-- Idempotency keys are committed with the command they produced, with the
-- answer a retry gets (secrets redacted). Rows of the old Redis-fallback
-- scheme go: their answers may hold API keys, which are never to be stored.
DELETE FROM idempotency_keys;
ALTER TABLE idempotency_keys
  ADD COLUMN command_seq bigint NOT NULL DEFAULT 0,  -- 0: no engine command (an account)
  ALTER COLUMN status SET NOT NULL,
  ALTER COLUMN response SET NOT NULL;
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- The command log refuses TRUNCATE as well as UPDATE and DELETE.
CREATE TRIGGER command_log_no_truncate BEFORE TRUNCATE ON command_log
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

-- Balances change only through the ledger: the posting trigger on
-- ledger_entries is the one writer of ledger_accounts (it runs at trigger
-- depth 1, so this check sees 2); a direct INSERT, UPDATE, DELETE or
-- TRUNCATE is refused.
CREATE FUNCTION ledger_accounts_posted_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') AND pg_trigger_depth() > 1 THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'ledger_accounts changes only through ledger_entries'
    USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER ledger_accounts_posted_only BEFORE INSERT OR UPDATE OR DELETE ON ledger_accounts
  FOR EACH ROW EXECUTE FUNCTION ledger_accounts_posted_only();
CREATE TRIGGER ledger_accounts_no_truncate BEFORE TRUNCATE ON ledger_accounts
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_accounts_posted_only();
