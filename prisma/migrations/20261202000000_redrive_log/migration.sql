-- Who re-drove which quarantined record, and when: written in the same transaction that posts the
-- corrected record and deletes its rejected_event row. Additive (expand and contract): the
-- release before this one runs on it unchanged.
CREATE TABLE "redrive_log" (
    "id" BIGSERIAL NOT NULL,
    "rejected_id" BIGINT NOT NULL,
    "kafka_topic" TEXT NOT NULL,
    "kafka_partition" INTEGER NOT NULL,
    "kafka_offset" BIGINT NOT NULL,
    "reason_code" TEXT NOT NULL,
    "redriven_by" TEXT NOT NULL,
    "redriven_at" TIMESTAMPTZ(6) NOT NULL DEFAULT now(),

    CONSTRAINT "redrive_log_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "redrive_log_kafka_coordinates_idx" ON "redrive_log"("kafka_topic", "kafka_partition", "kafka_offset");
