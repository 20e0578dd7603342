-- 008: suppliers' payouts as ledger transactions (issue 14): a supplier's
-- receivable paid out of the market (receivable -> external), on request or by
-- a daily schedule. A payout's reference is its transaction id.
ALTER TYPE ledger_txn_kind ADD VALUE 'payout';
