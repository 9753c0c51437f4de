-- Branch ownership, fenced in the database: one row per branch, held by one supervisor worker at
-- a time. Every batch transaction renews the row only if it still holds it with the same epoch,
-- so an owner that lost the branch can never commit again.

-- CreateTable
CREATE TABLE "branch_lease" (
    "transactions_topic" TEXT NOT NULL,
    "partition" INTEGER NOT NULL,
    "owner" TEXT NOT NULL,
    "epoch" BIGINT NOT NULL,
    "expires_at" TIMESTAMPTZ(6) NOT NULL,
    "acquired_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "branch_lease_pkey" PRIMARY KEY ("transactions_topic","partition")
);
