// The machine a load test or benchmark ran on, for its report: figures from machines of this kind
// differ a lot, so every report says where it was measured.
import os from 'node:os';

export interface Machine {
  cpus: number;
  cpuModel: string | null;
  memoryGB: number;
  node: string;
  date: string;
}

export function machine(): Machine {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? null,
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    date: new Date().toISOString().slice(0, 10),
  };
}
