-- 011: the rules a market was created with (issue 14). The configuration's
-- platform fee is only where a new market starts: the first start writes it
-- here, and every later start replays the log from it, whatever the
-- configuration says then. Changes after that are engine commands
-- (SetPlatformFee), in the log and the snapshots.
CREATE TABLE market_rules (
  name  text   PRIMARY KEY CHECK (name IN ('genesis_platform_fee_bp')),
  value bigint NOT NULL
);
