// The design card's entry: `node dist/supervisor.js --partitions 0-7`, the same supervisor as
// `node dist/main.cjs`. libuv sizes its thread pool from UV_THREADPOOL_SIZE when the pool is
// first used, and Node's ES module loader has used it to load this very file
// (src/kafka/call-threads.cts): so when the variable is not set, this entry starts itself again
// with it set, from the start, and stands in for that process (signals passed on, its exit code
// returned). Given in the environment, the supervisor runs here directly.
import './refuse-older-node.cjs';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import callThreads from './kafka/call-threads.cjs';

const relaunchWith = callThreads.relaunchEnvironment(process.env);
if (relaunchWith === undefined) {
  // Started by the relaunch below: should that parent die without a word (SIGKILL), stop too,
  // cleanly, rather than run on unseen beside the supervisor that replaces it.
  if (process.channel) {
    process.channel.unref();
    process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  }
  await import('./supervisor/supervise.js');
} else {
  relaunch(relaunchWith);
}

function relaunch(env: NodeJS.ProcessEnv): void {
  const child = fork(fileURLToPath(import.meta.url), process.argv.slice(2), {
    env,
    execArgv: process.execArgv,
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
  });
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];
  const pass = (signal: NodeJS.Signals) => child.kill(signal);
  for (const signal of signals) process.on(signal, pass);
  child.on('exit', (code, signal) => {
    for (const s of signals) process.off(s, pass);
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}
