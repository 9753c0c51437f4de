// What the branch workers and the operator's CLI read from Postgres about a branch, in one place
// so that both see the same figures: stored offsets, the parked backlog, leases and their stall
// reasons, quarantined records per branch.
import { Prisma } from '../generated/prisma/client.js';
import type { PrismaClient } from './prisma.js';

/** A branch's topic partition in the ledger's terms. */
export interface BranchTopic {
  partition: number;
  transactionsTopic: string;
}

/** Stored next offsets of a branch's partition, per topic. */
export async function readOffsets(
  prisma: PrismaClient,
  topics: string[],
  partition: number,
): Promise<Map<string, number>> {
  const rows = await readOffsetRows(prisma, topics, [partition]);
  return new Map(rows.map((r) => [r.topic, r.nextOffset]));
}

/** A branch's cursor per topic: where it goes on, and what it last committed. */
export async function readCursors(
  prisma: PrismaClient,
  topics: string[],
  partition: number,
): Promise<Map<string, OffsetRow>> {
  const rows = await readOffsetRows(prisma, topics, [partition]);
  return new Map(rows.map((r) => [r.topic, r]));
}

export interface OffsetRow {
  topic: string;
  partition: number;
  /** In ledger offsets; the Kafka offset is nextOffset - offsetBase. */
  nextOffset: number;
  /** The ledger offset of the current topic's Kafka offset 0 (not 0 after a recreated topic). */
  offsetBase: number;
  /** Fingerprint of the last record committed (src/kafka/record-fingerprint.ts), if any. */
  lastFingerprint: Buffer | null;
  /** The ledger offset of the record the fingerprint was taken from. */
  fingerprintOffset: number | null;
  /** When the branch last committed on this topic. */
  updatedAt: Date;
}

/** Stored next offsets of the given partitions of the given topics, with their commit times. */
export async function readOffsetRows(
  prisma: PrismaClient,
  topics: string[],
  partitions: number[],
): Promise<OffsetRow[]> {
  const rows = await prisma.consumerOffset.findMany({
    where: { topic: { in: topics }, partition: { in: partitions } },
  });
  return rows.map((r) => ({
    topic: r.topic,
    partition: r.partition,
    nextOffset: Number(r.nextOffset),
    offsetBase: Number(r.offsetBase),
    lastFingerprint: r.lastFingerprint === null ? null : Buffer.from(r.lastFingerprint),
    fingerprintOffset: r.fingerprintOffset === null ? null : Number(r.fingerprintOffset),
    updatedAt: r.updatedAt,
  }));
}

export interface ParkedStats {
  count: number;
  oldestAgeSeconds: number | null;
  /** Up to ten of the customer ids the parked transactions wait for, lowest first. */
  waitingFor: number[];
}

/** The branch's parked backlog: how many, how old, and whom they wait for. */
export async function parkedStats(prisma: PrismaClient, branch: BranchTopic): Promise<ParkedStats> {
  const [row] = await prisma.$queryRaw<ParkedStatsRow[]>(parkedStatsSql(branch));
  return toParkedStats(row);
}

/** The row parkedStatsSql selects. */
export interface ParkedStatsRow {
  n: bigint;
  oldest: number | null;
  waiting: bigint[] | null;
}

/** The parked-backlog query, also embedded in the health statement (src/db/branch-health.ts). */
export function parkedStatsSql(branch: BranchTopic): Prisma.Sql {
  return Prisma.sql`
    SELECT count(*) AS n, extract(epoch FROM now() - min(parked_at))::float8 AS oldest,
           (SELECT array_agg(custid) FROM (SELECT DISTINCT custid FROM parked_transaction
              WHERE kafka_topic = ${branch.transactionsTopic} AND kafka_partition = ${branch.partition} ORDER BY custid LIMIT 10) w) AS waiting
      FROM parked_transaction WHERE kafka_topic = ${branch.transactionsTopic} AND kafka_partition = ${branch.partition}`;
}

/** The figures of a parkedStatsSql row (none: nothing parked). */
export function toParkedStats(row: ParkedStatsRow | undefined): ParkedStats {
  return {
    count: Number(row?.n ?? 0),
    oldestAgeSeconds: row?.oldest == null ? null : Math.round(Number(row.oldest)),
    waitingFor: (row?.waiting ?? []).map(Number),
  };
}

export interface LeaseRow {
  partition: number;
  owner: string;
  /** The lease ran out: its owner stopped, or cannot reach the database. */
  expired: boolean;
  /** Why the owner says the branch does not move (a schema problem, an offset gap), if it does. */
  stalledReason: string | null;
  stalledSince: Date | null;
}

/** Every branch lease on the transactions topic. */
export async function branchLeases(prisma: PrismaClient, transactionsTopic: string): Promise<LeaseRow[]> {
  const rows = await prisma.$queryRaw<
    { branch: number; owner: string; expired: boolean; stalled_reason: string | null; stalled_since: Date | null }[]
  >`
    SELECT "partition" AS branch, owner, expires_at < now() AS expired, stalled_reason, stalled_since
      FROM branch_lease WHERE transactions_topic = ${transactionsTopic}`;
  return rows.map((r) => ({
    partition: r.branch,
    owner: r.owner,
    expired: r.expired,
    stalledReason: r.stalled_reason,
    stalledSince: r.stalled_since,
  }));
}

/** Quarantined records per branch (partition). */
export async function rejectedCounts(prisma: PrismaClient): Promise<Map<number, number>> {
  const rows = await prisma.$queryRaw<{ branch: number; n: bigint }[]>`
    SELECT kafka_partition AS branch, count(*) AS n FROM rejected_event GROUP BY 1`;
  return new Map(rows.map((r) => [r.branch, Number(r.n)]));
}
