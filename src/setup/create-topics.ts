// npm run topics:create: creates the customers and transactions topics, one partition per branch.
import { DEFAULTS } from '../config/defaults.js';
import { env } from '../core/env.js';
import { ensureTopics } from '../kafka/ensure-topics.js';
import { integerOption, parseFlags, type Problems } from '../config/options.js';
import { runMain } from '../core/run-main.js';
import { ConfigError } from '../core/errors.js';
import { KAFKA_FLAGS, KAFKA_HELP, readKafka, readTopics, TOPIC_FLAGS } from '../config/connection-options.js';

const HELP = `Usage: npm run topics:create -- [options]

Creates the customers and transactions topics with one partition per branch. Idempotent.

${KAFKA_HELP}
  --customers-topic <name>     customer-creation topic      (CUSTOMERS_TOPIC, default ${DEFAULTS.customersTopic})
  --transactions-topic <name>  deposits and withdrawals     (TRANSACTIONS_TOPIC, default ${DEFAULTS.transactionsTopic})
  --partitions <n>             partitions = branches        (PARTITIONS, default ${DEFAULTS.partitions})
  --help                       this text
`;

runMain('topics:create', async () => {
  const flags = parseFlags(process.argv.slice(2), {
    ...KAFKA_FLAGS,
    ...TOPIC_FLAGS,
    partitions: { type: 'string' },
    help: { type: 'boolean' },
  });
  if (flags.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const problems: Problems = [];
  const kafka = readKafka(problems, flags);
  const { customersTopic, transactionsTopic } = readTopics(problems, flags);
  const partitions = integerOption(problems, 'partitions', flags.partitions ?? env('PARTITIONS'), DEFAULTS.partitions, {
    min: 1,
    max: 10_000,
  });
  if (customersTopic === transactionsTopic) problems.push('customers-topic and transactions-topic must differ');
  if (problems.length > 0) throw new ConfigError(problems);

  const reports = await ensureTopics(kafka, [customersTopic, transactionsTopic], partitions);
  for (const r of reports) process.stdout.write(`topic ${r.topic}: ${r.status}, ${r.partitions} partitions\n`);
  return 0;
});
