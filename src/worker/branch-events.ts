// Everything a branch tells the supervisor goes through here: events in the order they happen,
// with the committed batches gathered in between (src/worker/batch-reports.ts) sent ahead of any
// other event, so that readiness and metrics follow the order of the commits.
import type { MessagePort } from 'node:worker_threads';
import { BatchReports, type CommittedBatch } from './batch-reports.js';
import type { LagReport, WorkerEvent } from './protocol.js';

export class BranchEvents {
  readonly #port: MessagePort;
  readonly #partition: number;
  readonly #reports: BatchReports;

  constructor(port: MessagePort, partition: number) {
    this.#port = port;
    this.#partition = partition;
    this.#reports = new BatchReports(partition);
  }

  /** Sends where the branch stands on its topics, when the report knows any. */
  lag(report: LagReport): void {
    if (Object.keys(report.lag).length > 0) this.emit({ type: 'lag', partition: this.#partition, ...report });
  }

  /** Sends an event, after the batches committed before it. */
  emit(event: WorkerEvent): void {
    this.flushBatches();
    this.#port.postMessage(event);
  }

  /** Adds a committed batch; it goes out with the next report that is due. */
  batchCommitted(batch: CommittedBatch): void {
    const report = this.#reports.add(batch);
    if (report) this.#port.postMessage(report);
  }

  /** Sends the batches not yet reported, now (the branch is idle or stopping). */
  flushBatches(): void {
    const pending = this.#reports.take();
    if (pending) this.#port.postMessage(pending);
  }

  close(): void {
    this.flushBatches();
    this.#port.close();
  }
}
