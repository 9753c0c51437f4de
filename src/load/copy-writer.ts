// The machine's Postgres write limit for this table: COPY of the same rows the ingester writes.
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';

/**
 * COPYs tab-separated lines into a table; resolves to the seconds the COPY took. `onStart` runs
 * just before the clock starts (a CPU meter, say), once the rows are rendered and connected.
 */
export async function copyRows(databaseUrl: string, table: string, columns: string[], lines: Iterable<string>, onStart?: () => Promise<void>): Promise<number> {
  // Rendered before the clock starts: on two cores, generating rows during the COPY would take
  // CPU from Postgres and understate its limit.
  const chunks = [...chunked(lines)];
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    await onStart?.();
    const started = process.hrtime.bigint();
    const sink = db.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
    await pipeline(Readable.from(chunks), sink);
    return Number(process.hrtime.bigint() - started) / 1e9;
  } finally {
    await db.end();
  }
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
