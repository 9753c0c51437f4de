// The samples of `perf script -F comm,tid,period,ip,sym`: per sample the thread's name, the CPU
// time it stands for and its stack, innermost frame first. With node's --perf-basic-prof the JIT
// frames of JavaScript read "JS:<tier><name> <url>:<line>:<column>".

export interface PerfSample {
  /** The thread's name: WorkerThread, V8Worker, rdk:broker1, libuv-worker, MainThread... */
  thread: string;
  /** What the sample stands for, in perf's unit (nanoseconds of CPU for cpu-clock). */
  period: number;
  /** Symbols, innermost first. */
  frames: string[];
}

/** A JavaScript frame's location, when the frame is one. */
export interface ScriptFrame {
  url: string;
  line: number;
  column: number;
}

export function parsePerfScript(text: string): PerfSample[] {
  const samples: PerfSample[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const lines = block.split('\n').filter((line) => line.trim() !== '');
    const header = lines[0]?.trim().match(/^(.*?)\s+\d+\s+(\d+)\s*$/);
    if (!header) continue;
    samples.push({
      thread: header[1]!,
      period: Number(header[2]),
      // Each frame line is "<address> <symbol>"; the symbol may hold spaces.
      frames: lines.slice(1).map((line) => line.trim().replace(/^[0-9a-f]+\s+/, '')),
    });
  }
  return samples;
}

export function scriptFrame(frame: string): ScriptFrame | undefined {
  const match = frame.match(/^JS:.* (\S+):(\d+):(\d+)$/);
  return match ? { url: match[1]!, line: Number(match[2]), column: Number(match[3]) } : undefined;
}
