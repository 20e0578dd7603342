-- 012: the tariff book a market was created with (issue 14), like its fee in
-- 011. The configuration's tariffs.json only starts a new market: the first
-- start that replays the whole log writes its book here, and every later start
-- replays from it, whatever the configuration says then. Schedules published
-- after that are engine commands (PublishTariffSchedule), in the log and the
-- snapshots.
CREATE TABLE market_genesis_tariffs (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  book      bytea   NOT NULL  -- engine::encode_tariff_book
);
