-- 006: events gained lease_closed (a lease's last settlement is in and it leaves the
-- market; docs/architecture.md#durability). A command logged before this replays to
-- one more event per lease it closed, and every later event number moves, so recovery
-- compares the replayed events only for commands logged in format 2 or later; older
-- commands are still replayed, and the recovered balances are still compared with the
-- ledger.
ALTER TABLE command_log ADD COLUMN event_format smallint NOT NULL DEFAULT 1;
ALTER TABLE command_log ALTER COLUMN event_format SET DEFAULT 2;
