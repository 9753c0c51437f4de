// The best-known JDBC sink, draining the bench's backlog beside the ingester: Debezium's JDBC
// sink connector on Kafka Connect standalone (peer-connect.ts), reading the same transactions (in
// Connect's JSON with a schema, which the connector needs) into one table keyed by the Kafka
// coordinates. It does less than the ingester (no customers first, no balances, no quarantine,
// at least once): the figure says what the ingester's guarantees cost against the fastest way
// people do this job today.
import pg from 'pg';
import { CpuMeter } from './cpu-split.js';
import type { DrainRun } from './drain-run.js';
import { PeerConnect } from './peer-connect.js';
import { PEER_TABLE, peerRowsWritten } from './peer-table.js';

/** Its start-up takes seconds (docs/performance.md): two minutes without a row means it is not consuming. */
const FIRST_ROW_TIMEOUT_MS = 120_000;

/**
 * Timed from the first row in the table to the last; its start-up is from the JVM's start to the
 * first row (Connect's start-up, the group join, the first batch).
 */
export interface PeerRun extends DrainRun {
  tasks: number;
}

/**
 * Drains `topic` (each partition holding `perPartition[p]` transactions from offset 0) with the
 * peer into a new table in `databaseUrl`; stops it and checks the row count.
 */
export async function measurePeer(options: {
  brokers: string;
  topic: string;
  databaseUrl: string;
  perPartition: number[];
  tasks: number;
  logFile: string;
  say: (text: string) => void;
}): Promise<PeerRun> {
  const rows = options.perPartition.reduce((a, b) => a + b, 0);
  const connect = await PeerConnect.start({ ...options, timed: false });
  const db = new pg.Client({ connectionString: options.databaseUrl });
  try {
    await db.connect();
    let meter: CpuMeter | undefined;
    let firstRowAt = 0;
    for (;;) {
      await new Promise((r) => setTimeout(r, 200));
      if (connect.exited) throw new Error(`Kafka Connect exited (log: ${options.logFile})`);
      const done = await peerRowsWritten(db, options.topic, options.perPartition);
      if (done > 0 && meter === undefined) {
        firstRowAt = Date.now();
        meter = await CpuMeter.start(() => [connect.pid]);
      }
      if (done >= rows) break;
      if (meter === undefined && Date.now() - connect.spawnedAt > FIRST_ROW_TIMEOUT_MS)
        throw new Error(`the peer wrote no row within ${FIRST_ROW_TIMEOUT_MS / 1000} s (log: ${options.logFile})`);
      if (Date.now() - connect.spawnedAt > 1_800_000)
        throw new Error('the peer did not drain the backlog within 30 minutes');
    }
    const finished = Date.now();
    const cpu = await meter!.end(rows);
    const peakRssMB = await connect.peakRssMB();
    await connect.stop();
    const count = await db.query<{ n: string }>(`select count(*) as n from ${PEER_TABLE}`);
    const seconds = (finished - firstRowAt) / 1000;
    const startupSeconds = (firstRowAt - connect.spawnedAt) / 1000;
    return {
      rows,
      seconds,
      startupSeconds,
      rowsPerSecond: rows / seconds,
      rowsPerSecondWithStartup: rows / (seconds + startupSeconds),
      peakRssMB,
      cpu,
      tasks: options.tasks,
      verified: Number(count.rows[0]!.n) === rows,
    };
  } finally {
    await connect.stop();
    await db.end().catch(() => undefined);
  }
}
