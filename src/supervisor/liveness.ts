// Liveness: is every branch's loop still turning? Each running branch has a Heartbeat that its
// worker moves on at every turn and before every deliberate wait (src/core/heartbeat.ts). A
// branch silent for longer than the bound is stuck in a call that never returns: /healthz then
// fails, so that Kubernetes restarts the pod. An outage being waited out, a standby polling for
// its lease and an idle branch all keep beating: they are not stuck, and /healthz stays 200.
import type { Logger } from '../core/log.js';
import { Heartbeat } from '../core/heartbeat.js';

export interface SilentBranch {
  partition: number;
  silentForMs: number;
}

export class Liveness {
  readonly boundMs: number;
  readonly #log: Logger | undefined;
  readonly #hearts = new Map<number, Heartbeat>();
  /** Branches already logged as stuck: one error line each, not one per probe. */
  readonly #reported = new Set<number>();

  constructor(boundMs: number, log?: Logger) {
    this.boundMs = boundMs;
    this.#log = log;
  }

  /** The heartbeat of a branch that starts running (alive from now). */
  watch(partition: number): Heartbeat {
    const heart = this.#hearts.get(partition) ?? new Heartbeat();
    heart.beat();
    this.#hearts.set(partition, heart);
    return heart;
  }

  /** The branch no longer runs here. */
  unwatch(partition: number): void {
    this.#hearts.delete(partition);
    this.#reported.delete(partition);
  }

  /** Seconds since the branch was last known alive; undefined when it does not run here. */
  silentSeconds(partition: number, now = Date.now()): number | undefined {
    const heart = this.#hearts.get(partition);
    return heart === undefined ? undefined : heart.silentForMs(now) / 1000;
  }

  /** Branches silent past the bound; each is logged once when it is first found so. */
  stuck(now = Date.now()): SilentBranch[] {
    const stuck: SilentBranch[] = [];
    for (const [partition, heart] of this.#hearts) {
      const silentForMs = heart.silentForMs(now);
      if (silentForMs <= this.boundMs) {
        if (this.#reported.delete(partition)) this.#log?.info({ branch: partition }, 'branch moves again');
        continue;
      }
      stuck.push({ partition, silentForMs });
      if (!this.#reported.has(partition)) {
        this.#reported.add(partition);
        this.#log?.error(
          { branch: partition, silentForSeconds: Math.round(silentForMs / 1000), boundSeconds: this.boundMs / 1000 },
          'branch made no progress and sent no sign of life past the liveness bound; /healthz fails so that the pod is restarted',
        );
      }
    }
    return stuck.sort((a, b) => a.partition - b.partition);
  }
}
