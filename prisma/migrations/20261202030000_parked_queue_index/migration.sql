-- Parked transactions drain per customer, oldest first (src/ingest/parked-queue.ts): this index
-- finds the customers a branch has parked rows for one at a time (a loose index scan), gives each
-- customer's rows in offset order for a bounded chunk, and tells a new transaction whether its
-- customer still has parked rows on the branch, all without scanning the backlog, which a flood
-- of millions of parked rows made every batch do. Additive.

-- CreateIndex
CREATE INDEX "parked_transaction_queue_idx" ON "parked_transaction"("kafka_topic", "kafka_partition", "custid", "kafka_offset");
