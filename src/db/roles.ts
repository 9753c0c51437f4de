// Least privilege: the schema owner migrates; the ingester and the operator CLI each log in as a
// role that can read and write only the rows they need. Neither owns anything, so neither can
// run DDL or TRUNCATE, and neither is granted any schema but public.
import pg from 'pg';

export interface RoleNames {
  ingester: string;
  operator: string;
}

/** What each role may do, table by table. Sequences back the bigserial ids of the tables. */
const INGESTER_GRANTS: Record<string, string> = {
  customer: 'SELECT, INSERT',
  transaction: 'SELECT, INSERT',
  balance: 'SELECT, INSERT, UPDATE',
  consumer_offset: 'SELECT, INSERT, UPDATE',
  parked_transaction: 'SELECT, INSERT, DELETE',
  rejected_event: 'SELECT, INSERT',
  branch_lease: 'SELECT, INSERT, UPDATE',
  // No UPDATE: accepting a gap is the operator's alone (accepted_at). A recreated topic, which
  // needs no acceptance, goes to topic_recreation, insert only (src/db/topic-recreation.ts).
  offset_gap: 'SELECT, INSERT',
  topic_recreation: 'SELECT, INSERT',
  // The start-up check reads which migrations are applied.
  _prisma_migrations: 'SELECT',
};

/** The operator reads everything, re-drives a rejected record, and accepts offset gaps. */
const OPERATOR_GRANTS: Record<string, string> = {
  customer: 'SELECT, INSERT',
  transaction: 'SELECT, INSERT',
  balance: 'SELECT, INSERT, UPDATE',
  consumer_offset: 'SELECT, INSERT, UPDATE',
  parked_transaction: 'SELECT, INSERT',
  rejected_event: 'SELECT, INSERT, DELETE',
  branch_lease: 'SELECT',
  offset_gap: 'SELECT, UPDATE',
  topic_recreation: 'SELECT',
  redrive_log: 'SELECT, INSERT',
  _prisma_migrations: 'SELECT',
};

const SEQUENCES = [
  'parked_transaction_id_seq',
  'rejected_event_id_seq',
  'offset_gap_id_seq',
  'redrive_log_id_seq',
  'topic_recreation_id_seq',
];

/** Creates the roles when missing (LOGIN, password when given) and grants exactly the above. */
export async function grantRoles(
  ownerUrl: string,
  names: RoleNames,
  passwords: Partial<Record<keyof RoleNames, string>>,
): Promise<void> {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    const [{ db }] = (await client.query<{ db: string }>('SELECT current_database() AS db')).rows as [{ db: string }];
    await client.query('BEGIN');
    for (const [kind, grants] of [
      ['ingester', INGESTER_GRANTS],
      ['operator', OPERATOR_GRANTS],
    ] as const) {
      const role = pg.escapeIdentifier(names[kind]);
      const exists = (await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [names[kind]])).rowCount;
      if (!exists) await client.query(`CREATE ROLE ${role} LOGIN`);
      const password = passwords[kind];
      // Passwords are sent as literals (DDL takes no parameters), escaped, never logged.
      if (password !== undefined) await client.query(`ALTER ROLE ${role} PASSWORD ${client.escapeLiteral(password)}`);
      await client.query(`GRANT CONNECT ON DATABASE ${pg.escapeIdentifier(db)} TO ${role}`);
      await client.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
      // Start from nothing, so re-running after a change of these lists takes rights away too.
      await client.query(`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ${role}`);
      for (const [table, privileges] of Object.entries(grants))
        await client.query(`GRANT ${privileges} ON ${pg.escapeIdentifier(table)} TO ${role}`);
      await client.query(
        `GRANT USAGE ON SEQUENCE ${SEQUENCES.map((s) => pg.escapeIdentifier(s)).join(', ')} TO ${role}`,
      );
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await client.end();
  }
}
