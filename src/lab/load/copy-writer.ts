// The machine's Postgres write limit for this table: COPY of the same rows the ingester writes.
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { withPgClient } from '../../db/with-pg-client.js';

/** Runs around the timed COPY, while its connection (and so its Postgres backend) is open. */
export interface CopyWatcher {
  start(): Promise<void>;
  end(): Promise<void>;
}

/**
 * COPYs tab-separated lines into a table; resolves to the seconds the COPY took. A watcher (a
 * CPU meter, say) starts once the rows are rendered and connected, and ends before the
 * connection closes: a backend that has exited can no longer be read in /proc.
 */
export async function copyRows(
  databaseUrl: string,
  table: string,
  columns: string[],
  lines: Iterable<string>,
  watcher?: CopyWatcher,
): Promise<number> {
  // Rendered before the clock starts: on two cores, generating rows during the COPY would take
  // CPU from Postgres and understate its limit.
  const chunks = [...chunked(lines)];
  return withPgClient(databaseUrl, async (db) => {
    await watcher?.start();
    const started = process.hrtime.bigint();
    const sink = db.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
    await pipeline(Readable.from(chunks), sink);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    await watcher?.end();
    return seconds;
  });
}

function* chunked(lines: Iterable<string>): Generator<string> {
  let buffer: string[] = [];
  for (const line of lines) {
    buffer.push(line);
    if (buffer.length === 5000) {
      yield `${buffer.join('\n')}\n`;
      buffer = [];
    }
  }
  if (buffer.length > 0) yield `${buffer.join('\n')}\n`;
}
