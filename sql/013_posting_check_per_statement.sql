-- 013: ledger_accounts refuses writers other than the posting trigger once per
-- statement, not once per row (docs/architecture.md#ledger-rules). The check is
-- the same (the posting trigger's statements run at trigger depth 2); a batch
-- that moves a few hundred balances no longer calls a PL/pgSQL function for each.
DROP TRIGGER ledger_accounts_posted_only ON ledger_accounts;
CREATE TRIGGER ledger_accounts_posted_only BEFORE INSERT OR UPDATE OR DELETE ON ledger_accounts
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_accounts_posted_only();
