// Gauges whose value grows between events, so they are computed at each scrape rather than set
// when a worker reports.
import { Gauge, type Registry } from 'prom-client';
import type { Liveness } from '../liveness.js';
import type { BranchSeries } from './branch-series.js';

export function defineScrapeGauges(registry: Registry, series: BranchSeries, liveness: Liveness): void {
  // Read from the branches' heartbeats: a stuck worker sends no event to set it.
  new Gauge({
    name: 'zipbank_branch_silent_seconds',
    help: "Seconds since the branch's loop last turned or began a deliberate wait; /healthz fails past --liveness-timeout-ms",
    labelNames: ['branch'],
    registers: [registry],
    collect() {
      this.reset();
      for (const branch of series.branches()) {
        const seconds = liveness.silentSeconds(Number(branch));
        if (seconds !== undefined) this.set({ branch }, seconds);
      }
    },
  });
  // From the last committed record's Kafka timestamp.
  new Gauge({
    name: 'zipbank_last_committed_record_age_seconds',
    help: 'Age of the last record the branch committed, from its Kafka timestamp: how old the newest posted data is',
    labelNames: ['branch', 'topic'],
    registers: [registry],
    collect() {
      this.reset();
      const now = Date.now();
      for (const [branch, topics] of series.committedAt)
        for (const [topic, at] of topics) this.set({ branch, topic }, Math.max(0, (now - at) / 1000));
    },
  });
}
