// A branch that starts on a backlog reads its customers before its transactions: a transaction
// read before its customer would be parked and written twice (parked, then posted), and in the
// load test the branches that parked at start finished last, at half the others' rate.
import t from 'tap';
import { runNode, withDatabase, withTopics } from './helpers/fixtures.js';
import { count, ledgerInvariants, SupervisorProcess, waitFor } from './helpers/supervisor.js';

const CUSTOMERS = 3_000;
const TRANSACTIONS = 20_000;

t.test('on a backlog the customers are read first and no transaction is parked', async (t) => {
  const topics = await withTopics(t, 2);
  const url = await withDatabase(t);
  // The produce tool sends every customer, then the transactions: the backlog a branch meets
  // after an outage or on its first start.
  const produced = await runNode('dist/lab/produce.js', [
    '--branches',
    '2',
    '--customers',
    String(CUSTOMERS),
    '--transactions',
    String(TRANSACTIONS),
    '--customers-topic',
    topics.customersTopic,
    '--transactions-topic',
    topics.transactionsTopic,
  ]);
  t.equal(produced.code, 0, 'the backlog was produced', { stderr: produced.stderr.slice(-1000) });

  const supervisor = new SupervisorProcess(t, topics, url, ['--partitions', '0-1']);
  await waitFor(
    'every transaction posted',
    () => count(url, '"transaction"'),
    (n) => n === TRANSACTIONS,
    120_000,
  );
  const logs = supervisor.logs();
  const waits = logs.filter(
    (l) =>
      l.msg ===
      'customers first: transactions wait until the customers backlog is read, so that they need not be parked',
  );
  t.same(waits.map((l) => l.branch).sort(), [0, 1], 'both branches waited for their customers');
  t.same(
    waits.map((l) => l.customersUntil),
    [CUSTOMERS / 2, CUSTOMERS / 2],
    'up to the end of their customers partition',
  );
  t.notOk(
    logs.some((l) => typeof l.msg === 'string' && l.msg.includes('wait for their customers')),
    'no transaction waited for its customer',
  );
  t.equal(await count(url, 'parked_transaction'), 0, 'nothing is parked');
  const invariants = await ledgerInvariants(url);
  t.equal(invariants.balanceMismatches, 0, 'balances equal their ledgers');
  t.equal((await supervisor.kill('SIGTERM')).code, 0, 'it stops cleanly');
});
