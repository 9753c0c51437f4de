// The jars of the peer (Debezium's JDBC sink on Kafka Connect), resolved by Maven from
// scripts/peer/pom.xml into .peer/libs on first use and again whenever the pom changes.
import { spawn } from 'node:child_process';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PROJECT_DIR } from './ingester-process.js';

const POM = path.join(PROJECT_DIR, 'scripts', 'peer', 'pom.xml');
const LIBS = path.join(PROJECT_DIR, '.peer', 'libs');

/** Copies the connector's and Connect's jars from Maven Central on first use (about 70 MB). */
export async function ensurePeerJars(say: (text: string) => void): Promise<string> {
  const marker = path.join(LIBS, '.resolved');
  const resolved = await stat(marker).catch(() => undefined);
  if (resolved && resolved.mtimeMs >= (await stat(POM)).mtimeMs) return LIBS;
  say(`resolving Kafka Connect and Debezium's JDBC sink from Maven Central into ${LIBS}`);
  await rm(LIBS, { recursive: true, force: true });
  await mkdir(LIBS, { recursive: true });
  const code = await new Promise<number | null>((resolve, reject) => {
    const mvn = spawn(
      'mvn',
      ['-q', '-B', '-f', POM, 'dependency:copy-dependencies', `-DoutputDirectory=${LIBS}`, '-DincludeScope=runtime'],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    mvn.once('error', reject);
    mvn.once('exit', resolve);
  });
  if (code !== 0) throw new Error(`Maven could not resolve the peer's jars (exit ${code})`);
  await writeFile(marker, '');
  return LIBS;
}
