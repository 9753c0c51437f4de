// What the supervisor and a branch worker thread exchange. A worker is a long-lived piscina task:
// it runs until the shared stop flag is raised, then disconnects its consumer and returns. The
// supervisor never terminates a thread holding a live librdkafka handle (that crashes the process).
import type { MessagePort } from 'node:worker_threads';
import type { IngesterConfig } from '../config/ingester-config.js';
import type { ConsumerPacing } from '../kafka/consumer-pacing.js';

export interface BranchTask {
  partition: number;
  config: IngesterConfig;
  /** Int32 at index 0: 0 = run, 1 = stop. This branch's own: a branch can be stopped alone. */
  stopFlag: SharedArrayBuffer;
  /** The branch's Heartbeat (src/core/heartbeat.ts): the supervisor's liveness reads it. */
  heartbeat: SharedArrayBuffer;
  /** Where the worker reports WorkerEvents (metrics, readiness) to the supervisor. */
  events: MessagePort;
  /** How the branch's consumer waits when there is nothing to read (src/kafka/consumer-pacing.ts). */
  pacing: ConsumerPacing;
}

/** Where a branch stands on each of its topics. */
export interface LagReport {
  /** High watermark minus stored offset, in records. */
  lag: Record<string, number>;
  /**
   * Age in seconds of the oldest record not yet committed (0 with no lag): from the first record
   * fetched and not committed, else bounded by the last committed record's age.
   */
  seconds: Record<string, number>;
  /** Kafka timestamp (ms) of the last committed record. */
  committedAtMs: Record<string, number>;
  /** Stored offset minus log start (records retention may delete before the branch is at risk), and log end minus log start. */
  headroom: Record<string, { records: number; retained: number }>;
}

/** What a branch worker tells the supervisor while it runs. */
export type WorkerEvent =
  /** Consumer connected and assigned, stored offsets read: the branch can ingest. */
  | { type: 'ready'; partition: number; transactionsNextOffset?: number }
  /** The worker took the branch's lease (epoch as text: it is a bigint). */
  | { type: 'leaseTaken'; partition: number; epoch: string }
  /** Another supervisor holds the branch's lease: this worker waits to take over. */
  | { type: 'standby'; partition: number }
  /**
   * Batches committed since the last report (src/ingest/batch-reports.ts gathers them): their
   * sizes and write times, one entry per batch, and their totals.
   */
  | {
      type: 'batches';
      partition: number;
      sizes: number[];
      writeSeconds: number[];
      records: number;
      customersCreated: number;
      posted: number;
      /** Of those, posted into the ledger's default partition: no partition holds their time yet. */
      postedToDefaultPartition: number;
      parked: number;
      rejectedByReason: Record<string, number>;
      /** The branch's next offset on the transactions topic, as now committed in Postgres. */
      transactionsNextOffset?: number;
    }
  /**
   * The database failed (ok: false, the branch is retrying; reason says what failed, in one line)
   * or works again (ok: true).
   */
  | { type: 'database'; partition: number; ok: boolean; reason?: string }
  /** Kafka cannot be reached or refuses us (ok: false, reason in one line), or works again. */
  | { type: 'kafka'; partition: number; ok: boolean; reason?: string }
  /** A write failed: retried (outage), paused until fixed (schema, refusing, unknown), or isolated (data). */
  | { type: 'writeFailed'; partition: number; cause: WriteFailureCause }
  /** A topic of the branch was deleted and created again; its new records are ingested from its start. */
  | { type: 'topicRecreated'; partition: number }
  /**
   * The branch's stored position was not where its worker left it: 'back', the database lost
   * commits (a failover, a restore) and `records` are read again from Kafka; 'ahead', something
   * else wrote the branch past it (never, while the lease fence holds).
   */
  | { type: 'positionMoved'; partition: number; direction: 'back' | 'ahead'; records: number }
  /** The consumer fetched nothing while records waited on the broker, and is being recreated. */
  | { type: 'fetchStalled'; partition: number }
  /** The branch stopped on offset gaps (open > 0, reason names them) or goes on again (open 0). */
  | { type: 'gap'; partition: number; open: number; reason?: string }
  /** Lag and retention headroom per topic (LagReport); sent while retrying too. */
  | ({ type: 'lag'; partition: number } & LagReport)
  /** Periodic figures: parked backlog. */
  | { type: 'stats'; partition: number; parked: number; oldestParkedAgeSeconds: number | null }
  /** Periodic figures: the V8 heap of the branch's thread, committed bytes (young generation and all). */
  | { type: 'heap'; partition: number; youngBytes: number; totalBytes: number }
  /** Periodic figures: the thread's Postgres pool (shared by the thread's branches). */
  | { type: 'pool'; partition: number; inUse: number; idle: number; waiting: number };

/**
 * Why a write failed: outage (retried), schema (the schema or privileges do not match), refusing
 * (Postgres refuses rows like ones it accepted before), unknown (a SQLSTATE this build does not
 * know), data (records isolated and quarantined).
 */
export const WRITE_FAILURE_CAUSES = ['outage', 'schema', 'refusing', 'unknown', 'data'] as const;
export type WriteFailureCause = (typeof WRITE_FAILURE_CAUSES)[number];

export interface BranchResult {
  partition: number;
  batches: number;
  records: number;
}
