// Why an owned branch does not move (a schema problem, an offset gap), written on its lease row
// where `cli status` reads it. Written only when the reason changes; a failed write is left to
// the next change, since the database may be what fails (readiness and the log say it meanwhile).
// While the branch waits on a database that answers but refuses, it also keeps its lease. One
// recorder per lease held: ownership makes it when the lease is taken and closes it when it ends.
import { LEASE_TTL_SECONDS } from '../db/prisma.js';
import { recordStall, renew, type Lease } from '../db/branch-lease.js';
import type { PrismaClient } from '../db/prisma.js';

export class StallRecorder {
  readonly #prisma: PrismaClient;
  readonly #lease: Lease;
  #recorded: string | null = null;
  /** Renews the lease while the branch waits for a refusing database (holdLease). */
  #holding: NodeJS.Timeout | undefined;

  constructor(prisma: PrismaClient, lease: Lease) {
    this.#prisma = prisma;
    this.#lease = lease;
  }

  /**
   * While true, renews the lease a few times per TTL: a branch paused on a database that answers
   * but refuses is still the owner, and its retry backoff outlasts the lease. Stops at false. A
   * renewal that fails is left to the next write, which finds a lost lease for itself.
   */
  holdLease(hold: boolean): void {
    if (!hold) {
      clearInterval(this.#holding);
      this.#holding = undefined;
      return;
    }
    if (this.#holding) return;
    this.#holding = setInterval(
      () => {
        renew(this.#prisma, this.#lease).catch(() => undefined);
      },
      (LEASE_TTL_SECONDS * 1000) / 3,
    );
  }

  /** Records the reason (null clears it) when it differs from the one recorded. */
  async record(reason: string | null): Promise<void> {
    if (reason === this.#recorded) return;
    try {
      await recordStall(this.#prisma, this.#lease, reason);
      this.#recorded = reason;
    } catch {
      // See the header: the next change tries again.
    }
  }

  /** The lease is no longer held: stop renewing it. */
  close(): void {
    this.holdLease(false);
  }
}
