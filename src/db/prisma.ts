import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.js';

/** A Prisma client over node-postgres (no native query engine). One small pool per worker. */
export function createPrisma(databaseUrl: string, connections = 2): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl, max: connections }) });
}

export type { PrismaClient };
