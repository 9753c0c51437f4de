// What the benchmark measures of any writer that drains the same backlog (the ingester, the
// JDBC sink peer): its rate with and without its start-up, its CPU split and memory.
import type { CpuSplit } from './cpu-split.js';

export interface DrainRun {
  rows: number;
  /** The timed drain (each writer says where its clock starts). */
  seconds: number;
  /** From the process's start to the start of the timed drain. */
  startupSeconds: number;
  rowsPerSecond: number;
  /** What a user waiting for the backlog sees: process start to the last commit. */
  rowsPerSecondWithStartup: number;
  peakRssMB: number;
  /** CPU over the timed drain; the writer's own process is in the `ingester` role. */
  cpu: CpuSplit;
  verified: boolean;
}
