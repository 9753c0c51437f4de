// The supervisor's HTTP endpoints: /healthz (the process answers and no branch's loop is stuck,
// src/supervisor/liveness.ts), /readyz (every assigned branch
// has a connected consumer and a working database) and /metrics (Prometheus text).
import http from 'node:http';
import type { BranchStatus } from './branch-status.js';
import type { Logger } from '../core/log.js';

export async function startHttpServer(
  { metrics, readiness, liveness }: BranchStatus,
  host: string,
  port: number,
  log: Logger,
): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/healthz') {
      const stuck = liveness.stuck();
      if (stuck.length === 0) res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      else
        res
          .writeHead(503, { 'content-type': 'text/plain' })
          .end(
            `${stuck.map((b) => `branch ${b.partition}: no progress for ${Math.round(b.silentForMs / 1000)} s (bound ${liveness.boundMs / 1000} s)`).join('\n')}\n`,
          );
    } else if (path === '/readyz') {
      const problems = readiness.notReady();
      const standby = readiness.standby();
      const note =
        standby.length > 0 ? `standing by (another supervisor owns them): branches ${standby.join(', ')}\n` : '';
      res
        .writeHead(problems.length === 0 ? 200 : 503, { 'content-type': 'text/plain' })
        .end(problems.length === 0 ? `ready\n${note}` : `${problems.join('\n')}\n${note}`);
    } else if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz, /readyz or /metrics\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  log.info({ address }, 'serving /healthz, /readyz and /metrics');
  return server;
}
