-- Why a branch is not moving, as its owner last saw it (a schema problem, an offset gap), so the
-- operator CLI can show it from Postgres alone. Written best effort: during a database outage
-- the owner cannot write it, and status shows the lease running out instead.

-- AlterTable
ALTER TABLE "branch_lease" ADD COLUMN "stalled_reason" TEXT,
ADD COLUMN "stalled_since" TIMESTAMPTZ(6);
