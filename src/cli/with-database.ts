// A command's database session: one connection, closed afterwards, and a failure reported as one
// line saying what failed and where, not as a Prisma stack.
import { toDatabaseError } from '../db/database-error.js';
import { createPrisma, type PrismaClient } from '../db/prisma.js';

export async function withDatabase<T>(databaseUrl: string, action: (prisma: PrismaClient) => Promise<T>): Promise<T> {
  const prisma = createPrisma(databaseUrl, 1);
  try {
    return await action(prisma);
  } catch (err) {
    throw toDatabaseError(err);
  } finally {
    await prisma.$disconnect();
  }
}
