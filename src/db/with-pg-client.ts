// One plain node-postgres connection for a short task (setup and lab tools), closed however the
// task ends. The branch workers use Prisma instead (src/db/prisma.ts).
import pg from 'pg';

export async function withPgClient<T>(databaseUrl: string, use: (db: pg.Client) => Promise<T>): Promise<T> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    return await use(db);
  } finally {
    await db.end();
  }
}
