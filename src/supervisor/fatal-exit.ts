// What the supervisor does with an exception nothing caught (a bug in a callback, a rejected
// promise nobody awaited): its state is unknown, so it logs one fatal line and ends at once.
// It does not go through Node's own exit: once, after such an exception thrown in a librdkafka
// callback while a consumer closed, Node printed it and then never exited (worker threads held
// live librdkafka handles), leaving a process that served nothing and that no restart policy
// would replace. Ending with SIGKILL is safe by design: every batch commits its records, balances
// and offsets in one Postgres transaction, so an interrupted one is rolled back and read again.
import type { Logger } from '../core/log.js';

export function endProcessOnUncaughtException(log: Logger): void {
  process.on('uncaughtException', (err, origin) => {
    try {
      log.fatal(
        { err, origin },
        'uncaught exception: the supervisor ends now (SIGKILL to itself); its orchestrator restarts it',
      );
    } finally {
      process.kill(process.pid, 'SIGKILL');
    }
  });
}
