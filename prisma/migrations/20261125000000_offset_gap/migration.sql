-- Offsets that vanished: records a branch never read because retention deleted them (stored
-- offset below the log start), or a topic deleted and recreated (stored offset beyond its end).
-- A branch with an open gap posts nothing until an operator accepts it (cli gaps accept), which
-- records who and when. (No semicolons inside comments: the WASM schema engine splits on them.)

-- CreateTable
CREATE TABLE "offset_gap" (
    "id" BIGSERIAL NOT NULL,
    "topic" TEXT NOT NULL,
    "partition" INTEGER NOT NULL,
    "kind" TEXT NOT NULL,
    "expected_offset" BIGINT NOT NULL,
    "first_available_offset" BIGINT NOT NULL,
    "log_end_offset" BIGINT NOT NULL,
    "detected_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "accepted_at" TIMESTAMPTZ(6),
    "accepted_by" TEXT,

    CONSTRAINT "offset_gap_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "offset_gap_kind_valid" CHECK ("kind" IN ('deleted', 'beyond_end'))
);

-- CreateIndex
CREATE UNIQUE INDEX "offset_gap_topic_partition_expected_offset_key" ON "offset_gap"("topic", "partition", "expected_offset");
