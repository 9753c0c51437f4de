// Why an owned branch does not move (a schema problem, an offset gap), written on its lease row
// where `cli status` reads it. Written only when the reason changes; a failed write is left to
// the next change, since the database may be what fails (readiness and the log say it meanwhile).
import { recordStall, type Lease } from '../db/branch-lease.js';
import type { PrismaClient } from '../db/prisma.js';

export class StallRecorder {
  readonly #prisma: PrismaClient;
  #lease: Lease | undefined;
  #recorded: string | null = null;

  constructor(prisma: PrismaClient) {
    this.#prisma = prisma;
  }

  /** The lease the reason is written on while the branch is owned; undefined when it is not. */
  set lease(lease: Lease | undefined) {
    this.#lease = lease;
    this.#recorded = null;
  }

  /** Records the reason (null clears it) when it differs from the one recorded. */
  async record(reason: string | null): Promise<void> {
    if (!this.#lease || reason === this.#recorded) return;
    try {
      await recordStall(this.#prisma, this.#lease, reason);
      this.#recorded = reason;
    } catch {
      // See the header: the next change tries again.
    }
  }
}
