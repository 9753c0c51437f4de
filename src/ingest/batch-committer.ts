// Commits a list of Kafka records, quarantining the ones Postgres refuses. The common case is one
// write. When Postgres refuses the batch for a data reason (a balance that would overflow, a
// failed check), the batch is halved until the refused records are found: each becomes a
// rejected_event row (reason database_rejected, with the SQLSTATE and message), committed with
// its offset, while the others commit normally, in their original order. One bad record in a
// batch of 2,000 costs about a dozen extra statements, not 2,000, and the branch never stops.
// Before a record is quarantined, a rolled-back probe asks whether Postgres still takes rows it
// took before (src/ingest/refusal-probe.ts): when it does not, the database changed, not the
// record, and the branch waits (DATABASE_REFUSING) instead of quarantining the whole stream.
import type { PrismaClient } from '../db/prisma.js';
import type { Logger } from '../core/log.js';
import { isWaitedOut, type RetryPolicy } from '../core/retry.js';
import { DatabaseError } from '../db/database-error.js';
import { forgetPrismaDebugHistoryAfter } from '../db/prisma-debug-history.js';
import { assembleParsed, parseRecords, type BatchRows, type ParsedRecord, type RawRecord } from './batch.js';
import { writeBatch, type WriteOptions } from './batch-writer.js';
import { Tally, type BatchOutcome, type CommitOutcome } from './commit-outcome.js';
import { postableParkedOffsets, rejectParked } from './parked-statements.js';
import { REJECT_REASONS } from './event-parser.js';
import { recordFingerprint } from '../kafka/record-fingerprint.js';
import { checkRefusalIsTheRecords, type ProbeTarget } from './refusal-probe.js';
import { advance, type StoredPosition } from '../db/stored-position.js';

export interface CommitterOptions {
  topics: { customers: string; transactions: string };
  maxPayloadBytes: number;
  /** The branch, its lease, and its transactions topic; the parked plan is given per commit. */
  write: Omit<WriteOptions, 'checkParked' | 'unparkCustomers' | 'parkedOffset' | 'expected'>;
  /** The branch's position in Postgres as read when the worker took it (src/db/stored-position.ts). */
  position: StoredPosition;
}

/** What a commit does about the branch's parked transactions (src/ingest/parked-queue.ts). */
export interface ParkedPlan {
  /** The branch has parked transactions: transactions of their customers park behind them. */
  checkParked: boolean;
  /** Customers that exist now whose parked transactions to post first, a chunk per commit. */
  unparkCustomers: readonly number[];
}

/** No parked transactions on the branch: the one-statement path. */
export const NOTHING_PARKED: ParkedPlan = Object.freeze({ checkParked: false, unparkCustomers: [] });

/** A write Postgres refused for the records' sake (class isolate): the refusal, else rethrown. */
function refusalOf(err: unknown): DatabaseError {
  if (err instanceof DatabaseError && err.errorClass === 'isolate') return err;
  throw err;
}

export class BatchCommitter {
  readonly #prisma: PrismaClient;
  readonly #options: CommitterOptions;
  readonly #retry: RetryPolicy;
  readonly #log: Logger;
  /** Where this worker's writes left the branch: each write commits only from here. */
  #position: StoredPosition;

  /** `retry` waits out outages and stops with its signal: a stop in the middle of a commit throws. */
  constructor(prisma: PrismaClient, options: CommitterOptions, retry: RetryPolicy, log: Logger) {
    this.#prisma = prisma;
    this.#options = options;
    this.#retry = retry;
    this.#log = log;
    this.#position = options.position;
  }

  /** The branch's position as this worker's last write left it. */
  get position(): StoredPosition {
    return this.#position;
  }

  /**
   * Commits the records in order. Throws the stop signal's error when stopped before the end:
   * what was committed stays, the rest is read again.
   */
  async commit(records: RawRecord[], parked: ParkedPlan): Promise<CommitOutcome> {
    try {
      return await this.#commit(records, parked);
    } finally {
      // Prisma's debug module would keep the last 100 statements with their parameters.
      forgetPrismaDebugHistoryAfter(records.length);
    }
  }

  async #commit(raw: RawRecord[], parked: ParkedPlan): Promise<CommitOutcome> {
    // Parsed once: the halves of an isolation are assembled from these, not parsed again.
    const records = parseRecords(raw, this.#options.topics, this.#options.maxPayloadBytes);
    let refusal: DatabaseError;
    try {
      const first = await this.#write(assembleParsed(records), parked);
      return { ...first, refused: 0, parkedRefused: 0, extraWrites: 0 };
    } catch (err) {
      refusal = refusalOf(err);
    }

    this.#log.warn(
      { records: records.length, sqlstate: refusal.sqlstate, err: refusal.message },
      'Postgres refused the batch; isolating the records it refuses',
    );
    const total = new Tally();
    // In the order of a whole write: the batch's customers, then the transactions parked for
    // them (older than any transaction of the batch), then the batch's transactions. Halving the
    // mixed list instead could post a customer's later transactions before its earlier ones.
    const customers = records.filter((r) => r.source.topic === this.#options.topics.customers);
    const transactions = records.filter((r) => r.source.topic !== this.#options.topics.customers);
    // Parked transactions of existing customers are known to the plan only: the halves post no
    // parked chunk of their own.
    const withoutChunk: ParkedPlan = { checkParked: parked.checkParked, unparkCustomers: [] };
    if (customers.length > 0) await this.#isolate(customers, true, total, withoutChunk);
    if (parked.unparkCustomers.length > 0) await this.#postParked(total, parked);
    if (transactions.length > 0) await this.#isolate(transactions, true, total, withoutChunk);
    this.#log.warn(
      { refused: total.outcome.refused, extraWrites: total.outcome.extraWrites },
      'refused records quarantined as database_rejected, see table rejected_event',
    );
    return total.outcome;
  }

  /**
   * Writes `records`, splitting them until every refused one is found. With `tryWhole` false the
   * caller knows the list holds a refused record (its other half went through), so the whole list
   * is not tried again. A single record is always tried before it is quarantined.
   * Resolves true when the list went through whole.
   */
  async #isolate(records: ParsedRecord[], tryWhole: boolean, total: Tally, plan: ParkedPlan): Promise<boolean> {
    if (tryWhole || records.length === 1) {
      total.writes++;
      try {
        total.add(await this.#write(assembleParsed(records), plan));
        return true;
      } catch (err) {
        const refusal = refusalOf(err);
        if (records.length === 1) return this.#refusedAlone(records[0]!, refusal, total, plan);
      }
    }
    const middle = Math.ceil(records.length / 2);
    const firstHalf = await this.#isolate(records.slice(0, middle), true, total, plan);
    await this.#isolate(records.slice(middle), !firstHalf, total, plan);
    return false;
  }

  /**
   * One record refused on its own: quarantined when the refusal is the record's. When Postgres
   * refuses rows it took before the same way (src/ingest/refusal-probe.ts), the database changed:
   * the branch waits (class pause) until it takes them again, then writes the record again.
   */
  async #refusedAlone(record: ParsedRecord, refusal: DatabaseError, total: Tally, plan: ParkedPlan): Promise<boolean> {
    const table = record.source.topic === this.#options.topics.customers ? 'customer' : 'transaction';
    if (await this.#refusalIsOwn(table, refusal)) return this.#quarantine(record.source, refusal, total, plan);
    return this.#isolate([record], true, total, plan);
  }

  /**
   * True when the refusal is the record's own. Otherwise the database changed: the probe is
   * retried (the branch pauses, reported as any failing write) until Postgres takes such rows
   * again, and false says the record is to be written again.
   */
  async #refusalIsOwn(table: ProbeTarget['table'], refusal: DatabaseError): Promise<boolean> {
    const target = {
      table,
      transactionsTopic: this.#options.write.transactionsTopic,
      partition: this.#options.write.partition,
    };
    const probe = () => checkRefusalIsTheRecords(this.#prisma, target, refusal);
    try {
      await probe();
      return true;
    } catch (err) {
      if (!isWaitedOut(this.#retry.classify(err).errorClass)) throw err;
    }
    await this.#retry.run('write batch', probe);
    return false;
  }

  /** Commits one refused record as a rejected_event row with its offset. */
  async #quarantine(record: RawRecord, refusal: DatabaseError, total: Tally, plan: ParkedPlan): Promise<false> {
    const batch: BatchRows = {
      customers: [],
      transactions: [],
      rejected: [
        {
          source: record,
          reason: REJECT_REASONS.DATABASE_REJECTED,
          detail: `Postgres refused the record: ${refusal.message}`,
        },
      ],
      nextOffsets: new Map([[record.topic, record.offset + 1]]),
      fingerprints: new Map([[record.topic, recordFingerprint(record)]]),
      size: 1,
    };
    total.writes++;
    // The quarantine row itself refused: nothing the branch can do by itself. It fails loudly
    // (the refusal is thrown); the worker is restarted and will try again.
    total.add(await this.#write(batch, plan));
    total.refused++;
    this.#log.error(
      { topic: record.topic, offset: record.offset, sqlstate: refusal.sqlstate, err: refusal.message },
      'record refused by Postgres, quarantined as database_rejected',
    );
    return false;
  }

  /**
   * Posts the plan's chunk of parked transactions: in one write when Postgres takes them all,
   * otherwise one at a time, so that only the one it refuses is quarantined.
   */
  async #postParked(total: Tally, plan: ParkedPlan): Promise<void> {
    total.writes++;
    try {
      total.add(await this.#write(assembleParsed([]), plan));
    } catch (err) {
      refusalOf(err);
      await this.#isolateParked(total, plan);
    }
  }

  /**
   * The chunk's parked transactions are posted one at a time; one that Postgres refuses moves to
   * rejected_event. Rare (a write of parked transactions was refused).
   */
  async #isolateParked(total: Tally, plan: ParkedPlan): Promise<void> {
    const options = { ...this.#options.write, checkParked: true };
    const offsets = await this.#retry.run('list postable parked transactions', () =>
      postableParkedOffsets(this.#prisma, options, plan.unparkCustomers),
    );
    for (const offset of offsets) {
      const refusal = await this.#postOneParked(offset, total);
      if (!refusal) continue;
      const expected = this.#position;
      await this.#retry.run('quarantine a parked transaction', () =>
        rejectParked(this.#prisma, { ...options, expected }, offset, refusal.message),
      );
      this.#position = advance(expected, new Map());
      total.refused++;
      total.parkedRefused++;
      this.#log.error(
        { offset, sqlstate: refusal.sqlstate, err: refusal.message },
        'parked transaction refused by Postgres, quarantined as database_rejected',
      );
    }
  }

  /** Posts one parked transaction; its refusal when Postgres refuses it for its own sake. */
  async #postOneParked(offset: number, total: Tally): Promise<DatabaseError | undefined> {
    const one: ParkedPlan = { checkParked: true, unparkCustomers: [] };
    for (;;) {
      total.writes++;
      try {
        total.add(await this.#write(assembleParsed([]), one, offset));
        return undefined;
      } catch (err) {
        const refusal = refusalOf(err);
        if (await this.#refusalIsOwn('transaction', refusal)) return refusal;
      }
    }
  }

  /** One write, outages retried; a refusal of the records (class isolate) is thrown. */
  async #write(batch: BatchRows, plan: ParkedPlan, parkedOffset?: number): Promise<BatchOutcome> {
    const unparkCustomers = parkedOffset === undefined ? plan.unparkCustomers : undefined;
    const expected = this.#position;
    const outcome = await this.#retry.run('write batch', () =>
      writeBatch(this.#prisma, batch, {
        ...this.#options.write,
        checkParked: plan.checkParked,
        unparkCustomers,
        parkedOffset,
        expected,
      }),
    );
    this.#position = advance(expected, batch.nextOffsets);
    return outcome;
  }
}
