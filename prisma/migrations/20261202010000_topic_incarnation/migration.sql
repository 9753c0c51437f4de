-- A topic deleted and created again is a new topic: its records are new transactions, at offsets
-- the old topic's rows already hold. Each branch cursor now carries the ledger offset of the
-- current topic's offset 0 (offset_base, 0 for the first topic) and a fingerprint of the last
-- record it committed with that record's offset (kept apart from next_offset, which an operator
-- may move by hand), read back from Kafka before the first fetch: a different record there means
-- the topic was recreated. The new topic is then ingested from its start at ledger
-- offsets from the old topic's end up, so that its rows cannot collide with the old ones, and
-- the change is recorded in offset_gap as kind recreated. Additive: the release before reads
-- and writes these tables unchanged. (No semicolons inside comments: the WASM schema engine
-- splits on them.)

-- AlterTable
ALTER TABLE "consumer_offset" ADD COLUMN "offset_base" BIGINT NOT NULL DEFAULT 0;
ALTER TABLE "consumer_offset" ADD COLUMN "last_fingerprint" BYTEA;
ALTER TABLE "consumer_offset" ADD COLUMN "fingerprint_offset" BIGINT;

-- AlterTable
ALTER TABLE "offset_gap" DROP CONSTRAINT "offset_gap_kind_valid";
ALTER TABLE "offset_gap" ADD CONSTRAINT "offset_gap_kind_valid" CHECK ("kind" IN ('deleted', 'beyond_end', 'recreated'));
