-- 011: the rules a market was created with (issue 14). The configuration's
-- platform fee is only where a new market starts: the first start that
-- replays the whole log writes it here, and every later start replays from it,
-- whatever the configuration says then. Changes after that are engine
-- commands (SetPlatformFee), in the log and the snapshots.
CREATE TABLE market_rules (
  name  text   PRIMARY KEY CHECK (name IN ('genesis_platform_fee_bp')),
  value bigint NOT NULL CHECK (value BETWEEN 0 AND 5000)  -- limits::kMaxPlatformFeeBp
);
