// A child process of another, found by its command line in /proc: the ingester a load test
// starts, for the profiler to attach to.
import { readdir, readFile } from 'node:fs/promises';

/** The first child of `parent` whose command line holds `marker`, once it appears. */
export async function waitForChild(parent: number, marker: string, signal: AbortSignal): Promise<number> {
  while (!signal.aborted) {
    for (const name of await readdir('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = await readFile(`/proc/${name}/stat`, 'utf8');
        // After the command's closing parenthesis come the state, then the parent's pid.
        const parentPid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (parentPid !== parent) continue;
        const command = await readFile(`/proc/${name}/cmdline`, 'utf8');
        if (command.includes(marker)) return Number(name);
      } catch {
        // gone meanwhile
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no child process running ${marker} appeared`);
}
