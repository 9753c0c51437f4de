-- The branch's write count: every batch statement of the owner advances it from the value the
-- worker last saw (compare-and-set, with the stored offsets), so a database that lost commits
-- (an asynchronous standby promoted, a point-in-time restore) is noticed even when the commits it
-- lost moved no offset (a drain of parked transactions). Additive: a former build ignores it.

-- AlterTable
ALTER TABLE "branch_lease" ADD COLUMN "commits" BIGINT NOT NULL DEFAULT 0;
