-- The audit (cli audit) reads a branch's customers topic a chunk of offsets at a time and finds
-- the customer row of each offset: an index on the Kafka coordinates, as the ledger and the
-- other tables have, keeps that a lookup instead of a scan of every customer per chunk. Only
-- customer creations pay for it, and they are few next to transactions. Additive.

-- CreateIndex
CREATE INDEX "customer_kafka_coordinates_idx" ON "customer"("kafka_topic", "kafka_partition", "kafka_offset");
