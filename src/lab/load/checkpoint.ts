// Starts a measurement from a fresh Postgres checkpoint. After a checkpoint the first change to
// each page writes the whole page to the WAL, so a run that happens to straddle one pays for the
// writes of the run before it; checkpointing first makes the methods of a benchmark comparable.
import pg from 'pg';

/** Runs CHECKPOINT; returns false (and the run goes on) when the role may not. */
export async function checkpoint(databaseUrl: string): Promise<boolean> {
  const db = new pg.Client({ connectionString: databaseUrl });
  try {
    await db.connect();
    await db.query('CHECKPOINT');
    return true;
  } catch (err) {
    process.stderr.write(
      `note: could not CHECKPOINT before measuring (${(err as Error).message}); figures may vary more\n`,
    );
    return false;
  } finally {
    await db.end().catch(() => undefined);
  }
}
