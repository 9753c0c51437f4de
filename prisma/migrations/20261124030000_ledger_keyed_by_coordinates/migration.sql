-- The ledger is keyed by its Kafka coordinates (topic, partition, offset), which were already
-- unique: the surrogate id cost a sequence call and a second unique index on every insert, about
-- a tenth of the batch statement's time. Promoting the existing index takes no rebuild.

-- AlterTable
ALTER TABLE "transaction" DROP CONSTRAINT "transaction_pkey";
ALTER TABLE "transaction" DROP COLUMN "id";
ALTER TABLE "transaction" ADD CONSTRAINT "transaction_pkey" PRIMARY KEY USING INDEX "transaction_kafka_coordinates_key";
