import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import type { SqlQuery } from '@prisma/driver-adapter-utils';
import { PrismaClient } from '../generated/prisma/client.js';
import { StatementNames } from './statement-names.js';
import { dropSilentConnections } from './silent-connection.js';

/** A branch lease not renewed for this long is free for a standby to take (src/db/branch-lease.ts). */
export const LEASE_TTL_SECONDS = 10;

/**
 * Bounds on every wait in Postgres. A frozen or half-open connection must not hold a branch
 * lease's row lock for hours: a transaction left idle is ended by the server after the lease
 * TTL, a statement after 15 s, a lock wait after 5 s, and TCP keep-alive finds dead peers.
 * Each of these surfaces as an outage (retried), so the documented takeover bound holds, and a
 * write in flight at shutdown ends within the shutdown bound (30 s by default).
 */
export const POOL_LIMITS = Object.freeze({
  statement_timeout: 15_000,
  lock_timeout: 5_000,
  idle_in_transaction_session_timeout: LEASE_TTL_SECONDS * 1000,
  connectionTimeoutMillis: 10_000,
  keepAlive: true,
  keepAliveInitialDelayMillis: 10_000,
});

/**
 * Bounds for every interactive transaction the ingester opens: Prisma's default 2 s wait for a
 * pooled connection is short when branches share a thread and its pool (--branches-per-thread),
 * so all of them wait as long as a batch may; the run time stays within the shutdown bound.
 */
export const TRANSACTION_LIMITS = Object.freeze({ maxWait: 5_000, timeout: 15_000 });

/**
 * How long a sent query may go without any answer before its connection is taken for dead and
 * dropped (src/db/silent-connection.ts). Above the statement timeout: a slow statement is ended
 * by the server first, with its own error.
 */
export const DEFAULT_RESPONSE_TIMEOUT_MS = 30_000;

/** The pg pool under each client this module made: its figures are exported per branch. */
const pools = new WeakMap<PrismaClient, pg.Pool>();

export interface PoolFigures {
  /** Connections checked out and running a statement or a transaction. */
  inUse: number;
  idle: number;
  /** Requests waiting for a connection. */
  waiting: number;
}

/** The client's connection pool now; undefined for a client not made by createPrisma. */
export function poolFigures(prisma: PrismaClient): PoolFigures | undefined {
  const pool = pools.get(prisma);
  return pool && { inUse: pool.totalCount - pool.idleCount, idle: pool.idleCount, waiting: pool.waitingCount };
}

export interface SilentConnectionOptions {
  /** A query without any answer this long drops its connection. */
  responseTimeoutMs?: number;
  /** Told each time a connection is dropped for its silence (to log it). */
  onDropped?: (message: string) => void;
}

/** A Prisma client over node-postgres (no native query engine). One small pool per worker. */
export function createPrisma(
  databaseUrl: string,
  connections = 2,
  { responseTimeoutMs = DEFAULT_RESPONSE_TIMEOUT_MS, onDropped }: SilentConnectionOptions = {},
): PrismaClient {
  // The adapter hands the name to node-postgres, for which undefined means an unnamed statement.
  const statementNameGenerator = new StatementNames().nameOf as (query: SqlQuery) => string;
  const pool = new pg.Pool({ connectionString: databaseUrl, max: connections, ...POOL_LIMITS });
  dropSilentConnections(pool, responseTimeoutMs, onDropped);
  const client = new PrismaClient({
    adapter: new PrismaPg(pool, { statementNameGenerator, disposeExternalPool: true }),
  });
  pools.set(client, pool);
  return client;
}

export type { PrismaClient };
