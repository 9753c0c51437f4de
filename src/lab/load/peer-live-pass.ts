// The JDBC sink peer on a live stream (load-test --mode live --peer): the same producer, rate,
// branches and 20 ms bursts as the ingester's pass, in Connect's JSON with a schema on topics of
// its own, into its own database. Measured as the ingester is: CPU per transaction (its JVM,
// Postgres, the broker) and latency from Kafka's timestamp to the insert, both after the warm-up,
// commits per second, peak RSS; every produced transaction checked to be in its table.
import path from 'node:path';
import pg from 'pg';
import { DEFAULTS } from '../../config/defaults.js';
import { env } from '../../core/env.js';
import { checkpoint } from './checkpoint.js';
import { CpuMeter, type CpuSplit } from './cpu-split.js';
import { CommittedTransactions, countStatements } from './committed-transactions.js';
import { PeerConnect } from './peer-connect.js';
import { PEER_TABLE, peerRowsWritten } from './peer-table.js';
import { runProducer, type ProduceSummary } from './local-services.js';
import { liveArgs, type RunSettings, workloadArgs } from './load-pass.js';
import { createScratchEnvironment } from './scratch-environment.js';

/** How often the peer's progress is read. */
const POLL_MS = 200;
/** Connect's REST API answers RUNNING for its tasks within seconds of the JVM's start. */
const TASKS_RUNNING_TIMEOUT_MS = 120_000;

export interface PeerLiveResult {
  transactions: number;
  tasks: number;
  /** After the warm-up, as the ingester's afterWarmup figures. */
  cpuSplit: CpuSplit;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  /** Postgres transactions the peer committed per second after the warm-up (pg_stat_database). */
  postgresTransactionsPerSecond: number;
  peakRssMB: number;
  /** Every produced transaction in the table once (its key is the Kafka coordinates). */
  verified: boolean;
}

export async function runPeerLivePass(
  s: RunSettings,
  peer: { tasks: number; fetchWaitMs: number | undefined },
  runId: string,
): Promise<PeerLiveResult> {
  const { tasks } = peer;
  const scratch = await createScratchEnvironment({
    kafka: s.kafka,
    serverUrl: env('DATABASE_URL') ?? DEFAULTS.databaseUrl,
    partitions: s.branches,
    runId,
    keep: s.keep,
  });
  let connect: PeerConnect | undefined;
  const databaseUrl = await scratch.newDatabase('peer');
  const db = new pg.Client({ connectionString: databaseUrl });
  try {
    await db.connect();
    const ownStatements = countStatements(db);
    const say = (text: string) => process.stderr.write(`load-test: ${text}\n`);
    connect = await PeerConnect.start({
      brokers: s.kafka.brokers,
      topic: scratch.transactionsTopic,
      databaseUrl,
      tasks,
      fetchWaitMs: peer.fetchWaitMs,
      timed: true,
      logFile: path.join(s.reportDir, `${runId}-connect.log`),
      say,
    });
    await connect.waitUntilRunning(TASKS_RUNNING_TIMEOUT_MS);
    await checkpoint(databaseUrl);
    say(`the peer's ${tasks} tasks run; producing ${s.rate} transactions/s for ${s.duration} s in Connect JSON`);
    const started = Date.now();
    const produced = runProducer([...workloadArgs(s, scratch), ...liveArgs(s), '--value-format', 'connect-json']);
    let summary: ProduceSummary | undefined;
    void produced.then(
      (p) => (summary = p),
      () => undefined,
    );
    const perPartition = () =>
      summary?.branches.map((b) => b.transactions) ?? new Array<number>(s.branches).fill(Infinity);
    let warm: { meter: CpuMeter; written: number; transactions: CommittedTransactions } | undefined;
    const deadline = started + Math.max(300_000, (s.transactions / 200) * 1000);
    let written = 0;
    for (;;) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      if (connect.exited) throw new Error(`Kafka Connect exited during the run (log in ${s.reportDir})`);
      written = await peerRowsWritten(db, scratch.transactionsTopic, perPartition());
      if (warm === undefined && Date.now() - started >= s.warmup * 1000) {
        const peer = connect;
        warm = {
          meter: await CpuMeter.start(() => [peer.pid]),
          written,
          transactions: await CommittedTransactions.start(db, ownStatements),
        };
      }
      if (summary && written >= summary.totals.transactions) break;
      if (Date.now() > deadline) throw new Error(`the peer did not keep up: ${written} of ${s.transactions} written`);
    }
    const total = (await produced).totals.transactions;
    const w = warm!;
    const cpuSplit = await w.meter.end(total - w.written);
    const transactions = await w.transactions.end();
    const peakRssMB = await connect.peakRssMB();
    await connect.stop();
    const q = `extract(epoch from written_at - (produced_at at time zone 'UTC')) * 1000`;
    const latency = await db.query<{ p: number[]; max: number }>(
      `select percentile_cont(array[0.5, 0.95, 0.99]) within group (order by ${q}) as p, max(${q}) as max
         from ${PEER_TABLE} where produced_at >= (to_timestamp($1 / 1000.0) at time zone 'UTC')`,
      [started + s.warmup * 1000],
    );
    const count = await db.query<{ n: string }>(`select count(*)::text as n from ${PEER_TABLE}`);
    const row = latency.rows[0];
    return {
      transactions: total,
      tasks,
      cpuSplit,
      latencyMs: { p50: row?.p[0] ?? 0, p95: row?.p[1] ?? 0, p99: row?.p[2] ?? 0, max: Number(row?.max ?? 0) },
      postgresTransactionsPerSecond: transactions.perSecond,
      peakRssMB,
      verified: Number(count.rows[0]!.n) === total,
    };
  } finally {
    await connect?.stop();
    await db.end().catch(() => undefined);
    await scratch.cleanup();
  }
}
