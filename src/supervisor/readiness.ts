// What /readyz answers: per branch this supervisor runs, whether it has a connected consumer and
// a working database, and if not, why, in one line. Fed by the same WorkerEvents as the metrics.
import type { WorkerEvent } from '../worker/protocol.js';

/** What readiness knows of a branch; each reason is one line for /readyz. */
interface BranchState {
  consumer: boolean;
  database: boolean;
  databaseReason?: string | undefined;
  /** Set while connecting to Kafka fails. */
  kafkaReason?: string | undefined;
  standby?: boolean;
  /** Set while the branch is stopped on an offset gap (or waits after accepting one). */
  gap?: string | undefined;
}

export class Readiness {
  readonly #branches = new Map<number, BranchState>();
  #startup: string | undefined;
  readonly #onChange: (partition: number, ready: boolean) => void;

  /** `onChange` hears every branch's readiness after each change (the branch-ready gauge). */
  constructor(partitions: readonly number[], onChange: (partition: number, ready: boolean) => void = () => undefined) {
    this.#onChange = onChange;
    for (const p of partitions) this.track(p);
  }

  record(event: WorkerEvent): void {
    switch (event.type) {
      case 'ready':
        this.#set(event.partition, {
          consumer: true,
          database: true,
          databaseReason: undefined,
          kafkaReason: undefined,
          standby: false,
          gap: undefined,
        });
        break;
      case 'standby':
        this.#set(event.partition, { consumer: false, standby: true, gap: undefined });
        break;
      case 'database':
        this.#set(event.partition, { database: event.ok, databaseReason: event.ok ? undefined : event.reason });
        break;
      case 'kafka':
        this.#set(event.partition, { kafkaReason: event.ok ? undefined : event.reason });
        break;
      case 'gap':
        this.#set(event.partition, { gap: event.reason });
        break;
      case 'batches':
        this.#set(event.partition, { database: true, databaseReason: undefined });
        break;
      default:
        break;
    }
  }

  /**
   * What the start-up checks are waiting for (undefined once they pass): every branch is not
   * ready with that reason, since none of them can start before.
   */
  startupProblem(service: 'database' | 'kafka', reason: string | undefined): void {
    this.#startup = reason === undefined ? undefined : `${service}: ${reason}`;
  }

  /** A branch this supervisor now runs (--partitions auto: the group assigned it). */
  track(partition: number): void {
    if (!this.#branches.has(partition)) this.#branches.set(partition, { consumer: false, database: true });
    this.#onChange(partition, false);
  }

  /** A branch this supervisor no longer runs: it no longer counts for readiness. */
  untrack(partition: number): void {
    this.#branches.delete(partition);
    this.#onChange(partition, false);
  }

  /** The branch's worker died or is restarting: not ready until it says so again. */
  workerDown(partition: number): void {
    this.#set(partition, { consumer: false, gap: undefined });
  }

  /**
   * Branches that are not ready, with the reason; empty when all are. A standby branch (another
   * supervisor holds its lease) counts as ready: it is waiting by design, and a rolling update
   * needs the new pod ready before the old one is stopped and hands its branches over.
   */
  notReady(): string[] {
    const problems: string[] = [];
    if (this.#startup) {
      // Nothing has started yet: the one reason holds for every branch.
      for (const p of this.#branches.keys()) problems.push(`branch ${p}: ${this.#startup}`);
      if (this.#branches.size === 0) problems.push(`starting: ${this.#startup}`);
      return problems;
    }
    for (const [p, state] of this.#branches) {
      if (state.standby) continue;
      // The most specific reason first: a gap or a database problem explains a missing consumer.
      if (state.gap) problems.push(`branch ${p}: ${state.gap}`);
      else if (!state.database) problems.push(`branch ${p}: ${state.databaseReason ?? 'database failing'}`);
      else if (state.kafkaReason) problems.push(`branch ${p}: ${state.kafkaReason}`);
      else if (!state.consumer) problems.push(`branch ${p}: no connected consumer`);
    }
    return problems;
  }

  /** Branches whose lease another supervisor holds. */
  standby(): number[] {
    return [...this.#branches].filter(([, state]) => state.standby).map(([p]) => p);
  }

  #set(partition: number, change: Partial<BranchState>): void {
    // A branch the group moved away may still report while it drains: it no longer counts.
    const current = this.#branches.get(partition);
    if (!current) return;
    const state = { ...current, ...change };
    this.#branches.set(partition, state);
    this.#onChange(partition, state.consumer && state.database && !state.gap);
  }
}
