-- A topic deleted and created again is recorded in a table of its own, not in offset_gap. A
-- recreation is not a loss waiting for an operator but a change the ingester adopts by itself,
-- and recording it over a gap row at the same offset needed UPDATE on offset_gap, which let the
-- ingester's role accept gaps. Kept apart, the ingester only ever inserts here, and offset_gap's
-- accepted_at is the operator's alone. Rows of kind recreated that earlier releases wrote stay in
-- offset_gap. Additive: the release before reads and writes its tables unchanged. (No semicolons
-- inside comments: the WASM schema engine splits on them.)

-- CreateTable
CREATE TABLE "topic_recreation" (
    "id" BIGSERIAL NOT NULL,
    "topic" TEXT NOT NULL,
    "partition" INTEGER NOT NULL,
    "ledger_offset_from" BIGINT NOT NULL,
    "new_log_start_offset" BIGINT NOT NULL,
    "new_log_end_offset" BIGINT NOT NULL,
    "detected_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "recorded_by" TEXT NOT NULL,

    CONSTRAINT "topic_recreation_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "topic_recreation_topic_partition_ledger_offset_from_key" ON "topic_recreation"("topic", "partition", "ledger_offset_from");
