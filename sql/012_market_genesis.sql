-- 012: the tariff book and the GPU catalog a market was created with (issue
-- 14), like its fee in 011. The configuration's tariffs.json and gpus.json only
-- start a new market: the first start that replays the whole log from them
-- writes them here, and every later start replays from these, whatever the
-- configuration says then. Changes after that are engine commands
-- (PublishTariffSchedule, AddGpuModel), in the log and the snapshots.
CREATE TABLE market_genesis (
  rule    text  PRIMARY KEY CHECK (rule IN ('tariffs', 'catalog')),
  encoded bytea NOT NULL  -- engine::encode_tariff_book, engine::encode_catalog
);
