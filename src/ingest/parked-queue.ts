// A branch's parked transactions as a queue per customer. Transactions read before their
// customer wait in parked_transaction; a customer's later transactions wait behind its parked
// ones (src/ingest/batch-writer.ts), so each customer's transactions post in offset order however
// the queue drains. The queue drains a chunk per commit (PARKED_CHUNK), for customers known to
// exist now: found among the customers this branch has parked rows for, a bounded slice of them
// per look, without scanning the parked rows themselves. So a backlog of millions costs each
// batch two index lookups per row, not a scan of the backlog, and un-parking it is a series of
// bounded statements, not one that holds the whole backlog in memory.
import type { PrismaClient } from '../db/prisma.js';
import type { ParkedPlan } from './batch-committer.js';
import type { CommitOutcome } from './commit-outcome.js';
import { PARKED_CHUNK } from './parked-statements.js';

/** Customers with parked rows looked at per look: a look stays a few milliseconds. */
const LOOK_SLICE = 5_000;

export class ParkedQueue {
  /** Parked transactions of the branch, as counted at start and kept since by each commit. */
  #count: number;
  /** Customers that exist now and still have parked transactions: drained first. */
  #ready: number[] = [];
  /** Where the next look goes on (customer ids, ascending); wraps around. */
  #lookAfter = -1;

  constructor(count: number) {
    this.#count = count;
  }

  get count(): number {
    return this.#count;
  }

  /** What the next commit does about parked transactions. */
  plan(): ParkedPlan {
    return { checkParked: this.#count > 0, unparkCustomers: this.#ready };
  }

  /** True when a commit of no records would post parked transactions. */
  get drainable(): boolean {
    return this.#ready.length > 0;
  }

  /** After a commit made with plan(): the count follows; a short chunk means the ready ones are done. */
  committed(outcome: CommitOutcome, plan: ParkedPlan): void {
    this.#count = Math.max(0, this.#count + outcome.parked - outcome.unparked - outcome.parkedRefused);
    if (plan.unparkCustomers.length === 0) return;
    if (outcome.unparked + outcome.parkedRefused < PARKED_CHUNK) this.#ready = [];
    // Customers before the last one the chunk took from are drained: the next chunk starts there.
    else if (outcome.unparkedThrough !== undefined) this.#ready = plan.unparkCustomers.slice(outcome.unparkedThrough);
  }

  /** The count as Postgres has it now (the health chore counts it): corrects any drift. */
  recount(count: number): void {
    this.#count = count;
    if (count === 0) this.#ready = [];
  }

  /**
   * Looks at the next slice of customers this branch has parked transactions for and keeps those
   * that exist now. Walks the (topic, partition, custid) index one customer at a time (a loose
   * index scan), so a look costs a slice of index probes, however many rows are parked.
   */
  async look(prisma: PrismaClient, branch: { transactionsTopic: string; partition: number }): Promise<void> {
    if (this.#count === 0) return;
    const rows = await prisma.$queryRaw<{ custid: bigint; exists: boolean }[]>`
      WITH RECURSIVE waiting(custid) AS (
        (SELECT custid FROM parked_transaction
          WHERE kafka_topic = ${branch.transactionsTopic} AND kafka_partition = ${branch.partition} AND custid > ${this.#lookAfter}
          ORDER BY custid LIMIT 1)
        UNION ALL
        SELECT (SELECT p.custid FROM parked_transaction p
                 WHERE p.kafka_topic = ${branch.transactionsTopic} AND p.kafka_partition = ${branch.partition} AND p.custid > w.custid
                 ORDER BY p.custid LIMIT 1)
          FROM waiting w WHERE w.custid IS NOT NULL
      )
      SELECT custid, EXISTS (SELECT 1 FROM customer c WHERE c.custid = waiting.custid) AS exists
        FROM waiting WHERE custid IS NOT NULL LIMIT ${LOOK_SLICE}`;
    this.#lookAfter = rows.length < LOOK_SLICE ? -1 : Number(rows[rows.length - 1]!.custid);
    const ready = new Set(this.#ready);
    for (const r of rows) if (r.exists) ready.add(Number(r.custid));
    this.#ready = [...ready];
  }
}
