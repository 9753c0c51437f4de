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
import { DatabaseError } from '../db/database-error.js';
import { forgetPrismaDebugHistoryAfter } from '../db/prisma-debug-history.js';
import { assembleParsed, parseRecords, type Batch, type ParsedRecord, type RawRecord } from './batch.js';
import { writeBatch, type WriteOptions } from './batch-writer.js';
import { Tally, type BatchOutcome, type CommitOutcome } from './commit-outcome.js';
import { postableParkedOffsets, rejectParked } from './parked-statements.js';
import { REJECT_REASONS } from './event-parser.js';
import { recordFingerprint } from '../kafka/record-fingerprint.js';
import { checkRefusalIsTheRecords, type ProbeTarget } from './refusal-probe.js';
import { advance, type StoredPosition } from '../db/stored-position.js';

/** Runs a database action until it succeeds or fails for good; undefined when stop was requested. */
export type Attempt = <T>(what: string, action: () => Promise<T>) => Promise<T | undefined>;

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

/** Marks a stop requested in the middle of a commit: what was committed stays, the rest is re-read. */
const STOPPED = Symbol('stopped');

export class BatchCommitter {
  readonly #prisma: PrismaClient;
  readonly #options: CommitterOptions;
  readonly #attempt: Attempt;
  readonly #log: Logger;
  /** Where this worker's writes left the branch: each write commits only from here. */
  #position: StoredPosition;

  constructor(prisma: PrismaClient, options: CommitterOptions, attempt: Attempt, log: Logger) {
    this.#prisma = prisma;
    this.#options = options;
    this.#attempt = attempt;
    this.#log = log;
    this.#position = options.position;
  }

  /** The branch's position as this worker's last write left it. */
  get position(): StoredPosition {
    return this.#position;
  }

  /** Commits the records in order; undefined when stop was requested before the end. */
  async commit(records: RawRecord[], parked: ParkedPlan): Promise<CommitOutcome | undefined> {
    try {
      return await this.#commit(records, parked);
    } finally {
      // Prisma's debug module would keep the last 100 statements with their parameters.
      forgetPrismaDebugHistoryAfter(records.length);
    }
  }

  async #commit(raw: RawRecord[], parked: ParkedPlan): Promise<CommitOutcome | undefined> {
    // Parsed once: the halves of an isolation are assembled from these, not parsed again.
    const records = parseRecords(raw, this.#options.topics, this.#options.maxPayloadBytes);
    const first = await this.#write(assembleParsed(records), parked);
    if (first === STOPPED) return undefined;
    if (!(first instanceof DatabaseError)) return { ...first, refused: 0, parkedRefused: 0, extraWrites: 0 };

    this.#log.warn(
      { records: records.length, sqlstate: first.sqlstate, err: first.message },
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
    if (customers.length > 0 && (await this.#isolate(customers, true, total, withoutChunk)) === STOPPED)
      return undefined;
    if (parked.unparkCustomers.length > 0 && (await this.#postParked(total, parked)) === STOPPED) return undefined;
    if (transactions.length > 0 && (await this.#isolate(transactions, true, total, withoutChunk)) === STOPPED)
      return undefined;
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
  async #isolate(
    records: ParsedRecord[],
    tryWhole: boolean,
    total: Tally,
    plan: ParkedPlan,
  ): Promise<boolean | typeof STOPPED> {
    if (tryWhole || records.length === 1) {
      const written = await this.#write(assembleParsed(records), plan);
      total.writes++;
      if (written === STOPPED) return STOPPED;
      if (!(written instanceof DatabaseError)) {
        total.add(written);
        return true;
      }
      if (records.length === 1) return this.#refusedAlone(records[0]!, written, total, plan);
    }
    const middle = Math.ceil(records.length / 2);
    const firstHalf = await this.#isolate(records.slice(0, middle), true, total, plan);
    if (firstHalf === STOPPED) return STOPPED;
    const secondHalf = await this.#isolate(records.slice(middle), !firstHalf, total, plan);
    return secondHalf === STOPPED ? STOPPED : false;
  }

  /**
   * One record refused on its own: quarantined when the refusal is the record's. When Postgres
   * refuses rows it took before the same way (src/ingest/refusal-probe.ts), the database changed:
   * the branch waits (class pause) until it takes them again, then writes the record again.
   */
  async #refusedAlone(
    record: ParsedRecord,
    refusal: DatabaseError,
    total: Tally,
    plan: ParkedPlan,
  ): Promise<boolean | typeof STOPPED> {
    const table = record.source.topic === this.#options.topics.customers ? 'customer' : 'transaction';
    const waited = await this.#waitUntilRefusalIsOwn(table, refusal);
    if (waited === STOPPED) return STOPPED;
    return waited ? this.#isolate([record], true, total, plan) : this.#quarantine(record.source, refusal, total, plan);
  }

  /** Resolves false when the refusal is the record's own, true after waiting for the database. */
  async #waitUntilRefusalIsOwn(table: ProbeTarget['table'], refusal: DatabaseError): Promise<boolean | typeof STOPPED> {
    const target = {
      table,
      transactionsTopic: this.#options.write.transactionsTopic,
      partition: this.#options.write.partition,
    };
    let waited = false;
    const checked = await this.#attempt('write batch', async () => {
      try {
        await checkRefusalIsTheRecords(this.#prisma, target, refusal);
        return true;
      } catch (err) {
        waited = true;
        throw err;
      }
    });
    return checked === undefined ? STOPPED : waited;
  }

  /** Commits one refused record as a rejected_event row with its offset. */
  async #quarantine(
    record: RawRecord,
    refusal: DatabaseError,
    total: Tally,
    plan: ParkedPlan,
  ): Promise<false | typeof STOPPED> {
    const batch: Batch = {
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
    const written = await this.#write(batch, plan);
    total.writes++;
    if (written === STOPPED) return STOPPED;
    // The quarantine row itself refused: nothing the branch can do by itself. Fail loudly; the
    // worker is restarted and will try again.
    if (written instanceof DatabaseError) throw written;
    total.add(written);
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
  async #postParked(total: Tally, plan: ParkedPlan): Promise<undefined | typeof STOPPED> {
    const written = await this.#write(assembleParsed([]), plan);
    total.writes++;
    if (written === STOPPED) return STOPPED;
    if (written instanceof DatabaseError) return this.#isolateParked(total, plan);
    total.add(written);
  }

  /**
   * The chunk's parked transactions are posted one at a time; one that Postgres refuses moves to
   * rejected_event. Rare (a write of parked transactions was refused).
   */
  async #isolateParked(total: Tally, plan: ParkedPlan): Promise<undefined | typeof STOPPED> {
    const options = { ...this.#options.write, checkParked: true };
    const offsets = await this.#attempt('list postable parked transactions', () =>
      postableParkedOffsets(this.#prisma, options, plan.unparkCustomers),
    );
    if (offsets === undefined) return STOPPED;
    const one: ParkedPlan = { checkParked: true, unparkCustomers: [] };
    for (const offset of offsets) {
      let written = await this.#write(assembleParsed([]), one, offset);
      total.writes++;
      if (written === STOPPED) return STOPPED;
      if (written instanceof DatabaseError) {
        const waited = await this.#waitUntilRefusalIsOwn('transaction', written);
        if (waited === STOPPED) return STOPPED;
        if (waited) {
          written = await this.#write(assembleParsed([]), one, offset);
          total.writes++;
          if (written === STOPPED) return STOPPED;
        }
      }
      if (!(written instanceof DatabaseError)) {
        total.add(written);
        continue;
      }
      const expected = this.#position;
      const quarantined = await this.#attempt('quarantine a parked transaction', () =>
        rejectParked(this.#prisma, { ...options, expected }, offset, written.message).then(() => true),
      );
      if (quarantined === undefined) return STOPPED;
      this.#position = advance(expected, new Map());
      total.refused++;
      total.parkedRefused++;
      this.#log.error(
        { offset, sqlstate: written.sqlstate, err: written.message },
        'parked transaction refused by Postgres, quarantined as database_rejected',
      );
    }
  }

  /** One write, outages retried; a data refusal is returned rather than thrown. */
  async #write(
    batch: Batch,
    plan: ParkedPlan,
    parkedOffset?: number,
  ): Promise<BatchOutcome | DatabaseError | typeof STOPPED> {
    const unparkCustomers = parkedOffset === undefined ? plan.unparkCustomers : undefined;
    try {
      const expected = this.#position;
      const outcome = await this.#attempt('write batch', () =>
        writeBatch(this.#prisma, batch, {
          ...this.#options.write,
          checkParked: plan.checkParked,
          unparkCustomers,
          parkedOffset,
          expected,
        }),
      );
      if (outcome === undefined) return STOPPED;
      this.#position = advance(expected, batch.nextOffsets);
      return outcome;
    } catch (err) {
      if (err instanceof DatabaseError && err.errorClass === 'isolate') return err;
      throw err;
    }
  }
}
