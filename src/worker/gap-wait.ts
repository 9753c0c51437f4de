// Before an owned branch reads on: the stored offsets are compared with what the broker still
// holds. A gap (records gone before they were read) is recorded and stops the branch, not
// ready and naming the gap, until an operator accepts it; an accepted gap beyond the log end
// waits until the recreated topic reaches the stored offset. Nothing is skipped silently.
import { describeGap, findGaps, recordGaps, type Watermarks } from '../ingest/offset-gaps.js';
import { renew, type Lease } from '../db/branch-lease.js';
import type { RetryPolicy } from '../core/retry.js';
import type { BranchConsumer } from '../kafka/branch-consumer.js';
import type { BranchContext } from './branch-context.js';
import type { BranchEvents } from './branch-events.js';
import type { LagReport } from './protocol.js';
import type { StallRecorder } from './stall-recorder.js';
import { readStoredOffsets } from './stored-offsets.js';

/** What the gap check uses besides the branch: its lease, consumer, retries, events and stall reason. */
export interface GapWaitParts {
  lease: Lease;
  consumer: BranchConsumer;
  retry: RetryPolicy;
  events: BranchEvents;
  stall: StallRecorder;
}

/** How often a branch stopped on an offset gap looks whether it was accepted. */
const GAP_POLL_MS = 2_000;

/** Resolves the offsets to start from once there is no open gap; throws StoppedError when stopped. */
export async function waitUntilNoGap(
  branch: BranchContext,
  { lease, consumer, retry, events, stall }: GapWaitParts,
  stored: Map<string, number>,
): Promise<Map<string, number>> {
  const { partition, log } = branch;
  let offsets = stored;
  let reported = '';
  for (;;) {
    const watermarks = new Map<string, Watermarks>();
    for (const topic of offsets.keys()) {
      watermarks.set(
        topic,
        await retry.run(`read the offsets of ${topic} from Kafka`, () => consumer.watermarks(topic)),
      );
    }
    const gaps = findGaps(partition, offsets, watermarks);
    if (gaps.length === 0) {
      if (reported) {
        log.info('offset gap accepted; the branch goes on');
        events.emit({ type: 'gap', partition, open: 0 });
        await stall.record(null);
      }
      return offsets;
    }
    const states = await retry.run('record the offset gap', () => recordGaps(branch.prisma, gaps));
    const open = states.filter((s) => !s.accepted).map((s) => s.gap);
    const reason =
      open.length > 0
        ? `stopped on an offset gap: ${open.map(describeGap).join('; ')}; accept it with: cli gaps accept --branch ${partition}`
        : `accepted offset gap: waiting until ${gaps.map((g) => `${g.topic}[${g.partition}] reaches offset ${g.expectedOffset} (now ${g.logEndOffset})`).join(', ')}`;
    // Logged when the set of gaps or their state changes, not when only the log end moves.
    const key = states.map((st) => `${st.gap.topic}@${st.gap.expectedOffset}:${st.accepted}`).join(',');
    if (key !== reported) {
      if (open.length > 0) log.error({ gaps: open }, `records were lost before this branch read them; ${reason}`);
      else log.warn({ gaps }, reason);
      reported = key;
    }
    events.emit({ type: 'gap', partition, open: open.length, reason });
    await stall.record(reason);
    // Still the owner while stopped: keep the lease, so no standby starts posting past the gap.
    await retry.run('renew the branch lease', () => renew(branch.prisma, lease));
    const report: LagReport = { lag: {}, seconds: {}, committedAtMs: {}, headroom: {} };
    for (const [topic, marks] of watermarks) {
      const stored = offsets.get(topic) ?? 0;
      report.lag[topic] = Math.max(0, marks.high - stored);
      report.headroom[topic] = { records: Math.max(0, stored - marks.low), retained: marks.high - marks.low };
    }
    events.lag(report);
    await branch.sleep(GAP_POLL_MS);
    offsets = await readStoredOffsets(branch, retry);
  }
}
