// Samples a running process's threads with Linux perf, with call stacks, and hands back what
// `perf script` reads of them. Node's JIT frames get names from the /tmp/perf-<pid>.map that
// --perf-basic-prof-only-functions makes the process write.
import { execFile } from 'node:child_process';
import { access, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parsePerfScript, type PerfSample } from './perf-samples.js';

const run = promisify(execFile);

/** Node's flags that make its JavaScript frames readable to perf. */
export const PERF_NODE_ARGS = ['--perf-basic-prof-only-functions', '--interpreted-frames-native-stack'];

export async function recordProcess(pid: number, seconds: number, frequency: number): Promise<PerfSample[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'zipbank-perf-'));
  const data = path.join(dir, 'perf.data');
  try {
    // perf record exits non-zero when the process ends before the sleep does; what it wrote
    // until then is read all the same. Without a file, its own words say why.
    await run('perf', [
      'record',
      '-F',
      String(frequency),
      '-g',
      '-p',
      String(pid),
      '-o',
      data,
      '--',
      'sleep',
      String(seconds),
    ]).catch(async (err: NodeJS.ErrnoException & { stderr?: string }) => {
      if (err.code === 'ENOENT') throw new Error('perf is not installed (Debian: apt-get install linux-perf)');
      const wrote = await access(data).then(
        () => true,
        () => false,
      );
      if (!wrote) throw new Error(`perf record failed: ${err.stderr?.trim() || err.message}`);
    });
    const { stdout } = await run('perf', ['script', '-i', data, '-F', 'comm,tid,period,ip,sym'], {
      maxBuffer: 1024 * 1024 * 1024,
    });
    return parsePerfScript(stdout);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Removes the JIT symbol file the profiled process left (V8 writes it to /tmp, whatever TMPDIR says). */
export async function removeSymbolFile(pid: number): Promise<void> {
  await rm(`/tmp/perf-${pid}.map`, { force: true });
}
