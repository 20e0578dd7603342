-- Metering (docs/architecture.md#metering): every sample an agent sent is kept, billed or not,
-- in monthly partitions of `second` (created by the ingest as months come).
CREATE TABLE usage_samples (
  node            bigint   NOT NULL,
  seq             bigint   NOT NULL,  -- per node, de-duplicated through usage_nodes
  second          bigint   NOT NULL,  -- Unix seconds, UTC
  card_index      smallint NOT NULL,
  card_uuid       text     NOT NULL,
  lease           bigint   NOT NULL,  -- the lease holding the card then, as metering knew it (0: none)
  healthy         boolean  NOT NULL,
  utilization_pct smallint NOT NULL,
  memory_used     bigint   NOT NULL,  -- bytes
  power_mw        integer  NOT NULL,
  energy_mj       bigint   NOT NULL,  -- delivered in this second
  temperature_c   smallint NOT NULL,
  ecc_uncorrected bigint   NOT NULL,
  xids            text     NOT NULL   -- space-separated XID codes, '' when none
) PARTITION BY RANGE (second);
CREATE INDEX usage_samples_node_second ON usage_samples (node, second);

-- The highest sequence stored per node: a batch at or below it is a re-send.
CREATE TABLE usage_nodes (
  node     bigint PRIMARY KEY,
  last_seq bigint NOT NULL
);

-- Which card sits at which index of a node: bound by its first sample, so a
-- card the node does not own is refused afterwards.
CREATE TABLE node_cards (
  node       bigint   NOT NULL,
  card_index smallint NOT NULL,
  card_uuid  text     NOT NULL,
  PRIMARY KEY (node, card_index)
);

-- Energy per lease (joules), for energy reports and tokens-per-joule figures.
CREATE VIEW lease_energy AS
  SELECT lease, sum(energy_mj) / 1000 AS joules, count(*) AS card_seconds
    FROM usage_samples WHERE lease <> 0 GROUP BY lease;
