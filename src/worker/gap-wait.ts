// Before an owned branch reads on: the stored offsets are compared with what the broker still
// holds. A gap (records gone before they were read) is recorded and stops the branch, not
// ready and naming the gap, until an operator accepts it; an accepted gap beyond the log end
// waits until the recreated topic reaches the stored offset. Nothing is skipped silently.
import { describeGap, findGaps, recordGaps, type Watermarks } from '../ingest/offset-gaps.js';
import { renew, type Lease } from '../db/branch-lease.js';
import type { BranchConsumer } from '../kafka/branch-consumer.js';
import type { BranchContext } from './branch-context.js';
import type { LagReport } from './protocol.js';
import { readStoredOffsets } from './stored-offsets.js';

/** How often a branch stopped on an offset gap looks whether it was accepted. */
const GAP_POLL_MS = 2_000;

/** Resolves the offsets to start from once there is no open gap; undefined when asked to stop. */
export async function waitUntilNoGap(
  branch: BranchContext,
  lease: Lease,
  consumer: BranchConsumer,
  stored: Map<string, number>,
): Promise<Map<string, number> | undefined> {
  const { partition, log, events, stall } = branch;
  let offsets = stored;
  let reported = '';
  while (!branch.stopped) {
    const watermarks = new Map<string, Watermarks>();
    for (const topic of offsets.keys()) {
      const marks = await branch.attempt(`read the offsets of ${topic} from Kafka`, () => consumer.watermarks(topic));
      if (!marks) return undefined;
      watermarks.set(topic, marks);
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
    const states = await branch.attempt('record the offset gap', () => recordGaps(branch.prisma, gaps));
    if (!states) return undefined;
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
    const renewed = await branch.attempt('renew the branch lease', () => renew(branch.prisma, lease).then(() => true));
    if (renewed === undefined) return undefined;
    const report: LagReport = { lag: {}, seconds: {}, committedAtMs: {}, headroom: {} };
    for (const [topic, marks] of watermarks) {
      const stored = offsets.get(topic) ?? 0;
      report.lag[topic] = Math.max(0, marks.high - stored);
      report.headroom[topic] = { records: Math.max(0, stored - marks.low), retained: marks.high - marks.low };
    }
    branch.reportLag(report);
    if (await branch.sleep(GAP_POLL_MS)) return undefined;
    const reread = await readStoredOffsets(branch);
    if (!reread) return undefined;
    offsets = reread;
  }
  return undefined;
}
