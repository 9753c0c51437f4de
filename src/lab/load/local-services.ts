// Helpers the demo, the load test and the benchmark share: the local broker, and the producer
// run as a child process whose JSON summary says exactly what was sent.
import { spawn } from 'node:child_process';
import { PROJECT_DIR } from './ingester-process.js';
import type { BranchExpectation } from './branch-load.js';

export interface ProduceSummary {
  customersTopic: string;
  transactionsTopic: string;
  elapsedMs: number;
  branches: BranchExpectation[];
  totals: Omit<BranchExpectation, 'branch'>;
}

function run(command: string, args: string[], stdio: 'inherit' | 'ignore' = 'inherit'): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: PROJECT_DIR, stdio });
    child.once('error', reject);
    child.once('exit', (code) => resolve(code ?? 1));
  });
}

/** Starts the local broker unless one runs; resolves to a function that undoes what it did. */
export async function ensureLocalKafka(): Promise<() => Promise<void>> {
  if ((await run('bash', ['scripts/kafka.sh', 'status'], 'ignore')) === 0) return async () => undefined;
  if ((await run('bash', ['scripts/kafka.sh', 'start'])) !== 0) throw new Error('the local Kafka broker did not start');
  return async () => {
    await run('bash', ['scripts/kafka.sh', 'stop']);
  };
}

export async function migrate(databaseUrl?: string): Promise<void> {
  const args = [
    '--no-warnings=ExperimentalWarning',
    'dist/setup/migrate.js',
    ...(databaseUrl ? ['--database-url', databaseUrl] : []),
  ];
  const code = await run(process.execPath, args);
  if (code !== 0) throw new Error(`db:migrate exited with ${code}`);
}

/** Runs `npm run produce` with these flags; its progress goes to stderr, its summary is returned. */
export function runProducer(args: string[]): Promise<ProduceSummary> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['dist/lab/produce.js', ...args], {
      cwd: PROJECT_DIR,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`produce exited with ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1)!) as ProduceSummary);
    });
  });
}
