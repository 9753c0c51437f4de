// Pure rules of the Kafka connection settings (src/kafka/kafka-settings.ts) and of the connect
// error's cause (src/kafka/connect-client.ts). The end-to-end run is test/kafka-sasl-ssl.test.ts.
import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describeSettings, parseProperties, readKafkaConnection, settingName } from '../src/kafka/kafka-settings.js';
import { failureCause } from '../src/kafka/connect-client.js';
import { readDatabaseUrl, readSecret } from '../src/config/connection-options.js';

t.test('client.properties format: key=value, key: value, comments and blank lines', async (t) => {
  const parsed = parseProperties(
    '# a comment\n! another\n\nsecurity.protocol=SASL_SSL\nsasl.mechanisms : SCRAM-SHA-512\nssl.ca.location=/etc/ca.pem\nbroken line\n',
  );
  t.same(parsed.settings, {
    'security.protocol': 'SASL_SSL',
    'sasl.mechanisms': 'SCRAM-SHA-512',
    'ssl.ca.location': '/etc/ca.pem',
  });
  t.same(parsed.problems, ['line 7: expected key=value']);
});

t.test('environment names map to librdkafka names', async (t) => {
  t.equal(settingName('KAFKA_CFG_SECURITY_PROTOCOL'), 'security.protocol');
  t.equal(settingName('KAFKA_CFG_SASL_PASSWORD'), 'sasl.password');
  t.equal(settingName('KAFKA_CFG_LOG__LEVEL'), 'log_level', 'a double underscore is a literal underscore');
});

t.test('file, variables and secret files combine, later sources winning; librdkafka validates each', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'zipbank-kcfg-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'client.properties');
  await writeFile(file, 'security.protocol=SSL\nsocket.timeout.ms=10000\n');
  const secret = path.join(dir, 'password');
  await writeFile(secret, 'hunter2-secret\n');
  const problems: string[] = [];
  const kafka = readKafkaConnection(problems, 'broker:9093', file, {
    KAFKA_CFG_SECURITY_PROTOCOL: 'SASL_SSL',
    KAFKA_CFG_SASL_PASSWORD_FILE: secret,
    KAFKA_CFG_SASL_USERNAME: 'ingester',
  });
  t.same(problems, []);
  t.same(kafka.settings, {
    'security.protocol': 'SASL_SSL',
    'socket.timeout.ms': '10000',
    'sasl.username': 'ingester',
    'sasl.password': 'hunter2-secret',
  });
  t.ok(Object.isFrozen(kafka) && Object.isFrozen(kafka.settings), 'frozen');
  t.same(describeSettings(kafka.settings)['sasl.password'], '***', 'secrets masked for logs');

  const bad: string[] = [];
  readKafkaConnection(bad, 'broker:9093', path.join(dir, 'missing.properties'), {
    KAFKA_CFG_NO_SUCH: 'x',
    KAFKA_CFG_FETCH_WAIT_MAX_MS: 'soon',
    KAFKA_CFG_BOOTSTRAP_SERVERS: 'elsewhere:9092',
    KAFKA_CFG_SSL_KEY_PASSWORD_FILE: path.join(dir, 'nope'),
  });
  t.equal(bad.length, 5, `every problem named: ${bad.join(' | ')}`);
  t.match(bad.join('\n'), /cannot read .*missing\.properties: ENOENT/);
  t.match(bad.join('\n'), /kafka setting no\.such: No such configuration property/);
  t.match(bad.join('\n'), /kafka setting fetch\.wait\.max\.ms: Invalid value/);
  t.match(bad.join('\n'), /kafka setting bootstrap\.servers: use --brokers/);
  t.match(bad.join('\n'), /KAFKA_CFG_SSL_KEY_PASSWORD_FILE: cannot read/);
});

t.test("the cause of a failed connection, without librdkafka's thread and state noise", async (t) => {
  t.equal(
    failureCause(
      '[thrd:127.0.0.1:9999/bootstrap]: 127.0.0.1:9999/bootstrap: Connect to ipv4#127.0.0.1:9999 failed: Connection refused (after 0ms in state CONNECT)',
    ),
    'Connect to ipv4#127.0.0.1:9999 failed: Connection refused',
  );
  t.equal(
    failureCause(
      '[thrd:sasl_ssl://127.0.0.1:39194/bootstrap]: sasl_ssl://127.0.0.1:39194/bootstrap: SASL authentication error: Authentication failed (after 5ms in state AUTH_REQ)',
    ),
    'SASL authentication error: Authentication failed',
  );
});

t.test('secrets come from a variable or from the file its _FILE twin names', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'zipbank-secret-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'url');
  await writeFile(file, 'postgresql://ingester:pw@db.bank:5432/zipbank\n');
  const saved = { ...process.env };
  t.teardown(() => {
    process.env = saved;
  });
  delete process.env.DATABASE_URL;
  process.env.DATABASE_URL_FILE = file;
  const problems: string[] = [];
  t.equal(
    readDatabaseUrl(problems, undefined),
    'postgresql://ingester:pw@db.bank:5432/zipbank',
    'from the file, without its newline',
  );
  t.equal(readDatabaseUrl(problems, 'postgresql://x@h/db'), 'postgresql://x@h/db', 'a flag wins');
  process.env.DATABASE_URL_FILE = path.join(dir, 'missing');
  readDatabaseUrl(problems, undefined);
  t.match(problems.join('\n'), /DATABASE_URL_FILE: cannot read .*missing: ENOENT/);
  process.env.OPERATOR_PASSWORD = 'direct';
  t.equal(readSecret([], 'OPERATOR_PASSWORD'), 'direct');
});
