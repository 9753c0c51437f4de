-- The ledger partitioned by month on the record's Kafka timestamp (docs/capacity.md, A ledger
-- that grows for five years). An insert maintains the custid index at a random place: once a
-- single index over years of rows outgrows memory, each insert reads index pages from disk. With
-- a partition per month only the current month's indexes take inserts, and they stay cached.
--
-- The primary key gains the Kafka timestamp, as Postgres requires of a partitioned table's key.
-- A record read twice carries the same timestamp, lands in the same month and is refused by the
-- same key, so exactly-once stays a property of the key. A key column cannot be null: a record
-- without a usable timestamp is stored with the epoch, in the untimed partition.
--
-- The months themselves are created by db:migrate right after the migrations
-- (src/db/ledger-partitions.ts), from the current month to three ahead plus the month of every
-- existing row, whose rows move out of the default partition into their month. The default partition
-- catches a row whose month is missing instead of failing it with SQLSTATE 23514, which the
-- ingester would read as that record's own refusal.
--
-- A contract step (the name ends in _breaking, docs/deploy.md): the key changes, so the release
-- before this one, whose statements name the old key, refuses to start on it. Scale the old
-- release to zero, migrate (the migrate Job also grants the roles on the new table), then start
-- this one. Existing rows are copied, under a lock, which suits the ledgers of this project's
-- deployments so far. A ledger of billions of rows is converted without a stop by the
-- expand-and-contract release in docs/capacity.md instead.

ALTER TABLE "transaction" RENAME TO "transaction_unpartitioned";
ALTER TABLE "transaction_unpartitioned" RENAME CONSTRAINT "transaction_pkey" TO "transaction_unpartitioned_pkey";
ALTER INDEX "transaction_custid_idx" RENAME TO "transaction_unpartitioned_custid_idx";

CREATE TABLE "transaction" (
    "custid" BIGINT NOT NULL,
    "kind" TEXT NOT NULL,
    "amount_cents" BIGINT NOT NULL,
    "occurred_at" TIMESTAMPTZ(6) NOT NULL,
    "kafka_topic" TEXT NOT NULL,
    "kafka_partition" INTEGER NOT NULL,
    "kafka_offset" BIGINT NOT NULL,
    "kafka_timestamp" TIMESTAMPTZ(6) NOT NULL,
    "posted_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "transaction_pkey" PRIMARY KEY ("kafka_topic", "kafka_partition", "kafka_offset", "kafka_timestamp"),
    CONSTRAINT "transaction_kind_valid" CHECK ("kind" IN ('deposit', 'withdrawal')),
    CONSTRAINT "transaction_amount_positive" CHECK ("amount_cents" > 0)
) PARTITION BY RANGE ("kafka_timestamp");

CREATE INDEX "transaction_custid_idx" ON "transaction"("custid");

CREATE TABLE "transaction_untimed" PARTITION OF "transaction" FOR VALUES FROM (MINVALUE) TO ('2000-01-01 00:00:00+00');
CREATE TABLE "transaction_default" PARTITION OF "transaction" DEFAULT;

INSERT INTO "transaction" (custid, kind, amount_cents, occurred_at, kafka_topic, kafka_partition, kafka_offset, kafka_timestamp, posted_at)
SELECT custid, kind, amount_cents, occurred_at, kafka_topic, kafka_partition, kafka_offset,
       coalesce(kafka_timestamp, timestamptz 'epoch'), posted_at
  FROM "transaction_unpartitioned";

DROP TABLE "transaction_unpartitioned";

-- The customer link of migration 20261129000000_ledger_customer_check, on the new table. A
-- statement trigger on a partitioned table sees the rows of every partition in its transition table.
CREATE TRIGGER "transaction_custid_exists_on_insert"
  AFTER INSERT ON "transaction" REFERENCING NEW TABLE AS new_ledger_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "transaction_custid_exists"();

CREATE TRIGGER "transaction_custid_exists_on_update"
  AFTER UPDATE ON "transaction" REFERENCING NEW TABLE AS new_ledger_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "transaction_custid_exists"();
