// Issue 9, points 1, 2 and 5: every Kafka client of the project over SASL_SSL (SCRAM-SHA-512
// users, TLS with a certificate the test's CA signed) on a broker the test starts; a wrong
// password or an untrusted certificate is a clear, retried error that ingests nothing; and no
// secret appears in any output of the run.
import t from 'tap';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { json, kafkaScript, privateBroker, runNode, withDatabase } from './helpers/fixtures.js';
import { count, SupervisorProcess, waitFor } from './helpers/supervisor.js';
import { createTestCa } from './helpers/test-ca.js';
import { ConfirmedProducer } from '../src/kafka/confirmed-producer.js';

// Below the ephemeral range (32768 and up), so no outgoing connection can hold one of them.
const PORT = 28_192; // plaintext; +1 controller; +2 SASL_SSL
const SASL_PASSWORD = 'Sasl-Pa55-word-ZB';
const DB_PASSWORD = 'Db-Pa55-word-ZB';

t.test(
  'ingests end to end through a SASL_SSL broker, refuses a wrong password or an untrusted certificate, and logs no secret',
  async (t) => {
    const ca = await createTestCa(t, 'kafka-ca');
    const other = await createTestCa(t, 'rogue-ca');
    const server = await ca.issueServer('broker');
    const keystore = path.join(ca.dir, 'broker-keystore.pem');
    await writeFile(keystore, `${await readFile(server.key, 'utf8')}${await readFile(server.cert, 'utf8')}`);
    const broker = await privateBroker(t, PORT);
    const started = await kafkaScript('start', {
      ...broker.env,
      KAFKA_SASL_SSL_PORT: String(PORT + 2),
      KAFKA_SSL_KEYSTORE_PEM: keystore,
      KAFKA_SCRAM_USERS: `ingester:${SASL_PASSWORD}`,
    });
    t.equal(started.code, 0, started.out);
    t.notMatch(started.out, new RegExp(SASL_PASSWORD), 'the broker script does not print the SCRAM password');
    const secured = `127.0.0.1:${PORT + 2}`;

    // The connection settings as an operator would give them: a properties file without the
    // secret, the password from a mounted file.
    const properties = path.join(ca.dir, 'client.properties');
    await writeFile(
      properties,
      `# ZipBank's cluster\nsecurity.protocol=SASL_SSL\nsasl.mechanisms=SCRAM-SHA-512\nsasl.username=ingester\nssl.ca.location=${ca.caCert}\n`,
    );
    const passwordFile = path.join(ca.dir, 'sasl-password');
    await writeFile(passwordFile, `${SASL_PASSWORD}\n`);
    const wrongPasswordFile = path.join(ca.dir, 'wrong-password');
    await writeFile(wrongPasswordFile, 'not-the-password\n');
    const kafkaEnv = {
      KAFKA_BROKERS: secured,
      KAFKA_CONFIG_FILE: properties,
      KAFKA_CFG_SASL_PASSWORD_FILE: passwordFile,
    };

    const topics = { customersTopic: 'secure-customers', transactionsTopic: 'secure-events', partitions: 2 };
    const outputs: string[] = [];
    const created = await runNode(
      'dist/setup/create-topics.js',
      [
        '--partitions',
        '2',
        '--customers-topic',
        topics.customersTopic,
        '--transactions-topic',
        topics.transactionsTopic,
      ],
      kafkaEnv,
    );
    outputs.push(created.stdout, created.stderr);
    t.equal(created.code, 0, `topics created over SASL_SSL: ${created.stderr}`);
    const produced = await runNode(
      'dist/lab/produce.js',
      [
        '--branches',
        '2',
        '--customers',
        '10',
        '--transactions',
        '500',
        '--customers-topic',
        topics.customersTopic,
        '--transactions-topic',
        topics.transactionsTopic,
      ],
      kafkaEnv,
    );
    outputs.push(produced.stdout, produced.stderr);
    t.equal(produced.code, 0, `produced over SASL_SSL: ${produced.stderr}`);

    const url = await withDatabase(t);
    // Trust authentication ignores it, but a password in the URL must never show anywhere.
    const urlWithPassword = url.replace('postgres@', `postgres:${DB_PASSWORD}@`);
    const supervisor = new SupervisorProcess(
      t,
      topics,
      urlWithPassword,
      ['--partitions', '0-1', '--brokers', secured],
      { KAFKA_CONFIG_FILE: properties, KAFKA_CFG_SASL_PASSWORD_FILE: passwordFile },
    );
    await waitFor(
      'ingested over SASL_SSL',
      () => count(url, '"transaction"'),
      (n) => n === 500,
      90_000,
    );
    const status = await runNode('dist/cli.js', ['status', '--partitions', '0-1'], {
      ...kafkaEnv,
      DATABASE_URL: urlWithPassword,
      CUSTOMERS_TOPIC: topics.customersTopic,
      TRANSACTIONS_TOPIC: topics.transactionsTopic,
    });
    outputs.push(status.stdout, status.stderr);
    t.equal(status.code, 0, `CLI status over SASL_SSL: ${status.stderr}`);
    t.match(status.stdout, /^\s+0\s+\d+\s+\d+\s+0\s/m, 'with the lag read over SASL_SSL');
    outputs.push((await supervisor.get('/metrics')).text, (await supervisor.get('/readyz')).text);
    t.equal((await supervisor.kill('SIGTERM')).code, 0);

    // A wrong password: a clear error in the log and /readyz, retried, nothing ingested, no crash.
    const urlB = await withDatabase(t);
    const wrong = new SupervisorProcess(t, topics, urlB, ['--partitions', '0-1', '--brokers', secured], {
      KAFKA_CONFIG_FILE: properties,
      KAFKA_CFG_SASL_PASSWORD_FILE: wrongPasswordFile,
    });
    const refused = await waitFor(
      '/readyz names the Kafka failure',
      () => wrong.get('/readyz'),
      (r) => /kafka:/.test(r.text),
      60_000,
    );
    t.equal(refused.status, 503);
    t.match(
      refused.text,
      /branch 0: kafka: .*(SASL authentication|Authentication failed|authentication)/i,
      'readiness names the authentication failure',
    );
    t.ok(
      await wrong.logLine((l) =>
        /(waiting for Kafka|could not connect to Kafka, retrying): .*authentication/i.test(String(l.msg)),
      ),
      'the log names it',
    );
    t.equal(await count(urlB, '"transaction"'), 0, 'nothing ingested');
    t.notOk(
      wrong.logs().some((l) => l.msg === 'branch worker died'),
      'no crash loop',
    );
    outputs.push(...wrong.lines, refused.text);
    t.equal((await wrong.kill('SIGTERM')).code, 0);

    // A broker certificate the configured CA did not sign: never ingests over it.
    const rogueProperties = path.join(ca.dir, 'rogue.properties');
    await writeFile(rogueProperties, (await readFile(properties, 'utf8')).replace(ca.caCert, other.caCert));
    const urlC = await withDatabase(t);
    const untrusted = new SupervisorProcess(t, topics, urlC, ['--partitions', '0-1', '--brokers', secured], {
      KAFKA_CONFIG_FILE: rogueProperties,
      KAFKA_CFG_SASL_PASSWORD_FILE: passwordFile,
    });
    const unverified = await waitFor(
      '/readyz names the TLS failure',
      () => untrusted.get('/readyz'),
      (r) => /kafka:/.test(r.text),
      60_000,
    );
    t.match(
      unverified.text,
      /branch 0: kafka: .*(certificate verify failed|SSL handshake failed)/i,
      'readiness names the certificate failure',
    );
    t.equal(await count(urlC, '"transaction"'), 0, 'nothing ingested over an unverified connection');
    outputs.push(...untrusted.lines, unverified.text);
    t.equal((await untrusted.kill('SIGTERM')).code, 0);

    // A bad setting is refused at start-up, every one named.
    const bad = await runNode('dist/main.cjs', ['--partitions', '0', '--brokers', secured, '--metrics-port', '0'], {
      KAFKA_CONFIG_FILE: properties,
      KAFKA_CFG_SASL_PASSWORD_FILE: passwordFile,
      KAFKA_CFG_NO_SUCH_SETTING: '1',
      KAFKA_CFG_SECURITY_PROTOCOL: 'bogus',
      KAFKA_CFG_GROUP_ID: 'mine',
      DATABASE_URL: urlWithPassword,
    });
    t.equal(bad.code, 2, 'exit 2 on bad settings');
    t.match(bad.stderr, /kafka setting no\.such\.setting: No such configuration property/);
    t.match(bad.stderr, /kafka setting security\.protocol: Invalid value "bogus"/);
    t.match(bad.stderr, /kafka setting group\.id: set by the ingester/);
    outputs.push(bad.stdout, bad.stderr);

    const help = await runNode('dist/main.cjs', ['--help'], {});
    t.match(help.stdout, /Give secrets by environment or file, not by flag/);

    const everything = [...outputs, ...supervisor.lines].join('\n');
    t.notMatch(everything, new RegExp(SASL_PASSWORD), 'the SASL password appears in no output');
    t.notMatch(everything, new RegExp(DB_PASSWORD), 'the database password appears in no output');
    t.ok(everything.length > 10_000, `a real amount of output was searched (${everything.length} characters)`);
    // The plaintext listener stays for the broker's own use; the test's producer proves it runs.
    const producer = await ConfirmedProducer.connect(broker.brokers, 'plain-check');
    await producer.send(topics.customersTopic, 0, 'k', json({ custid: 999, createdate: 1, fname: 'P', lname: 'Q' }));
    await producer.confirmAll();
    await producer.close();
  },
);
