-- ZipBank branch ingester: initial schema.
-- Money is integer cents (bigint), times are timestamptz, and every row written from a Kafka
-- record keeps its coordinates under a unique constraint so a redelivered record never lands twice.
-- (No semicolons inside comments: the WASM schema engine splits the script on them.)

-- CreateTable
CREATE TABLE "customer" (
    "custid" BIGINT NOT NULL,
    "fname" TEXT NOT NULL,
    "lname" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL,
    "kafka_topic" TEXT NOT NULL,
    "kafka_partition" INTEGER NOT NULL,
    "kafka_offset" BIGINT NOT NULL,
    "ingested_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "customer_pkey" PRIMARY KEY ("custid"),
    CONSTRAINT "customer_custid_positive" CHECK ("custid" > 0)
);

-- CreateTable
CREATE TABLE "transaction" (
    "id" BIGSERIAL NOT NULL,
    "custid" BIGINT NOT NULL,
    "kind" TEXT NOT NULL,
    "amount_cents" BIGINT NOT NULL,
    "occurred_at" TIMESTAMPTZ(6) NOT NULL,
    "kafka_topic" TEXT NOT NULL,
    "kafka_partition" INTEGER NOT NULL,
    "kafka_offset" BIGINT NOT NULL,
    "posted_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "transaction_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "transaction_kind_valid" CHECK ("kind" IN ('deposit', 'withdrawal')),
    CONSTRAINT "transaction_amount_positive" CHECK ("amount_cents" > 0)
);

-- CreateTable
CREATE TABLE "balance" (
    "custid" BIGINT NOT NULL,
    "balance_cents" BIGINT NOT NULL DEFAULT 0,
    "transaction_count" BIGINT NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "balance_pkey" PRIMARY KEY ("custid")
);

-- CreateTable
CREATE TABLE "consumer_offset" (
    "topic" TEXT NOT NULL,
    "partition" INTEGER NOT NULL,
    "next_offset" BIGINT NOT NULL,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "consumer_offset_pkey" PRIMARY KEY ("topic","partition"),
    CONSTRAINT "consumer_offset_next_offset_nonnegative" CHECK ("next_offset" >= 0)
);

-- CreateTable
CREATE TABLE "parked_transaction" (
    "id" BIGSERIAL NOT NULL,
    "custid" BIGINT NOT NULL,
    "kind" TEXT NOT NULL,
    "amount_cents" BIGINT NOT NULL,
    "occurred_at" TIMESTAMPTZ(6) NOT NULL,
    "kafka_topic" TEXT NOT NULL,
    "kafka_partition" INTEGER NOT NULL,
    "kafka_offset" BIGINT NOT NULL,
    "parked_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "parked_transaction_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "parked_transaction_kind_valid" CHECK ("kind" IN ('deposit', 'withdrawal')),
    CONSTRAINT "parked_transaction_amount_positive" CHECK ("amount_cents" > 0)
);

-- CreateTable
CREATE TABLE "rejected_event" (
    "id" BIGSERIAL NOT NULL,
    "kafka_topic" TEXT NOT NULL,
    "kafka_partition" INTEGER NOT NULL,
    "kafka_offset" BIGINT NOT NULL,
    "raw_key" BYTEA,
    "raw_value" BYTEA,
    "reason_code" TEXT NOT NULL,
    "detail" TEXT NOT NULL,
    "rejected_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "rejected_event_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "transaction_custid_idx" ON "transaction"("custid");

-- CreateIndex
CREATE UNIQUE INDEX "transaction_kafka_coordinates_key" ON "transaction"("kafka_topic", "kafka_partition", "kafka_offset");

-- CreateIndex
CREATE INDEX "parked_transaction_custid_idx" ON "parked_transaction"("custid");

-- CreateIndex
CREATE INDEX "parked_transaction_kafka_partition_parked_at_idx" ON "parked_transaction"("kafka_partition", "parked_at");

-- CreateIndex
CREATE UNIQUE INDEX "parked_transaction_kafka_coordinates_key" ON "parked_transaction"("kafka_topic", "kafka_partition", "kafka_offset");

-- CreateIndex
CREATE INDEX "rejected_event_reason_code_idx" ON "rejected_event"("reason_code");

-- CreateIndex
CREATE UNIQUE INDEX "rejected_event_kafka_coordinates_key" ON "rejected_event"("kafka_topic", "kafka_partition", "kafka_offset");

-- AddForeignKey
ALTER TABLE "transaction" ADD CONSTRAINT "transaction_custid_fkey" FOREIGN KEY ("custid") REFERENCES "customer"("custid") ON DELETE RESTRICT ON UPDATE RESTRICT;

-- AddForeignKey
ALTER TABLE "balance" ADD CONSTRAINT "balance_custid_fkey" FOREIGN KEY ("custid") REFERENCES "customer"("custid") ON DELETE RESTRICT ON UPDATE RESTRICT;
