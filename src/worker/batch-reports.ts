// What a branch worker tells the supervisor about its committed batches, gathered. A message
// to the supervisor wakes its thread, and a thread wake-up costs about as much CPU as writing a
// small batch (docs/performance.md), while under a steady trickle every branch commits many
// small batches a second. So batches are reported together, at most every REPORT_INTERVAL_MS,
// and whatever is pending goes out when the branch has nothing to write or stops.
import type { WorkerEvent } from './protocol.js';

/** Longest a committed batch waits before the supervisor's metrics show it. */
export const REPORT_INTERVAL_MS = 250;

export type BatchesEvent = Extract<WorkerEvent, { type: 'batches' }>;

export interface CommittedBatch {
  records: number;
  customersCreated: number;
  posted: number;
  postedToDefaultPartition: number;
  parked: number;
  rejectedByReason: Record<string, number>;
  writeSeconds: number;
  transactionsNextOffset: number | undefined;
}

export class BatchReports {
  readonly #partition: number;
  #pending: BatchesEvent | undefined;
  #lastSent = 0;

  constructor(partition: number) {
    this.#partition = partition;
  }

  /** Adds a committed batch; returns the report to send when one is due. */
  add(batch: CommittedBatch, now = Date.now()): BatchesEvent | undefined {
    this.#pending ??= {
      type: 'batches',
      partition: this.#partition,
      sizes: [],
      writeSeconds: [],
      records: 0,
      customersCreated: 0,
      posted: 0,
      postedToDefaultPartition: 0,
      parked: 0,
      rejectedByReason: {},
    };
    const report = this.#pending;
    report.sizes.push(batch.records);
    report.writeSeconds.push(batch.writeSeconds);
    report.records += batch.records;
    report.customersCreated += batch.customersCreated;
    report.posted += batch.posted;
    report.postedToDefaultPartition += batch.postedToDefaultPartition;
    report.parked += batch.parked;
    for (const [reason, n] of Object.entries(batch.rejectedByReason))
      report.rejectedByReason[reason] = (report.rejectedByReason[reason] ?? 0) + n;
    if (batch.transactionsNextOffset !== undefined) report.transactionsNextOffset = batch.transactionsNextOffset;
    return now - this.#lastSent >= REPORT_INTERVAL_MS ? this.take(now) : undefined;
  }

  /** The pending report (undefined when there is none), now. */
  take(now = Date.now()): BatchesEvent | undefined {
    const report = this.#pending;
    this.#pending = undefined;
    if (report) this.#lastSent = now;
    return report;
  }
}
