// The process entry: `node dist/main.cjs [options]` (npm start, the container image). It sizes
// libuv's thread pool before anything uses it (src/kafka/call-threads.cts explains why this file
// is CommonJS), then loads the supervisor, which reads the options and runs.
import { refuseOlderNode } from './core/node-runtime.cjs';
import { sizeCallThreads } from './kafka/call-threads.cjs';

refuseOlderNode();
sizeCallThreads(process.env, process.execArgv);
import('./supervisor/supervise.js').catch((err: unknown) => {
  process.stderr.write(`supervisor: cannot load: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
