-- The time Kafka stored each transaction record (its produce time), kept through parking, so
-- the end-to-end latency from produce to ledger can be measured per row.

-- AlterTable
ALTER TABLE "transaction" ADD COLUMN "kafka_timestamp" TIMESTAMPTZ(6);

-- AlterTable
ALTER TABLE "parked_transaction" ADD COLUMN "kafka_timestamp" TIMESTAMPTZ(6);
