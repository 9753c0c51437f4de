// A Postgres connection that stops answering without being closed (a failed-over primary behind
// a stale route, a dropped NAT entry) leaves a sent query waiting for the kernel's TCP give-up,
// about 15 minutes. node-postgres's own query_timeout fails the query but keeps the connection
// in the pool with the unanswered query still on it, so the next query waits behind it. Here a
// query without an answer after the response timeout destroys the connection's socket: its
// queries fail at once (an outage, retried on a new connection) and the pool drops it.
import type net from 'node:net';
import type pg from 'pg';

/** The message a dropped connection's queries fail with; it names the setting. */
export function silentConnectionMessage(timeoutMs: number): string {
  return `no answer from the database in ${timeoutMs / 1000} s: connection dropped (--database-response-timeout-ms)`;
}

/** Guards every connection the pool opens. */
export function dropSilentConnections(
  pool: pg.Pool,
  timeoutMs: number,
  onDropped: (message: string) => void = () => undefined,
): void {
  pool.on('connect', (client) => guard(client, timeoutMs, onDropped));
}

type QueryArgs = unknown[];

function guard(client: pg.PoolClient, timeoutMs: number, onDropped: (message: string) => void): void {
  const query = client.query.bind(client) as (...args: QueryArgs) => unknown;
  const socket = (client as unknown as { connection: { stream: net.Socket } }).connection.stream;
  // The socket's error reaches every waiting query; the pool and the adapter listen for the
  // client's error event only while they hold it, so this keeps one from ending the thread.
  client.on('error', () => undefined);
  (client as unknown as { query: (...args: QueryArgs) => unknown }).query = (...args: QueryArgs) => {
    // A submittable (a COPY stream) answers at its own pace: not guarded.
    if (typeof (args[0] as { submit?: unknown } | null)?.submit === 'function') return query(...args);
    const timer = setTimeout(() => {
      const message = silentConnectionMessage(timeoutMs);
      onDropped(message);
      socket.destroy(new Error(message));
    }, timeoutMs);
    const done = () => clearTimeout(timer);
    const last = args.length - 1;
    const callback = args[last];
    if (typeof callback === 'function') {
      args[last] = (...result: unknown[]) => {
        done();
        (callback as (...r: unknown[]) => void)(...result);
      };
      return query(...args);
    }
    const result = query(...args) as Promise<unknown>;
    result.then(done, done);
    return result;
  };
}
