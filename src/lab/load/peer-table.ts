// The peer's table: where Debezium's JDBC sink writes the transactions, keyed by their Kafka
// coordinates, and how far it has got.
import type pg from 'pg';

export const PEER_TABLE = 'peer_transaction';

/**
 * The connector's table, made beforehand as the ingester's schema is (its own schema evolution
 * would make the same columns). `timed`: two more columns for a live run's latency, the record's
 * Kafka timestamp (put in each value by Connect's InsertField transform) and the clock at the
 * insert, as the ingester's ledger has them.
 */
export function peerTableDdl(timed: boolean): string {
  const columns = timed
    ? `,\n  produced_at timestamp not null, written_at timestamptz not null default clock_timestamp()`
    : '';
  return `create table ${PEER_TABLE} (
  custid bigint not null, type text not null, date bigint not null, amt bigint not null,
  __connect_topic text not null, __connect_partition integer not null, __connect_offset bigint not null${columns},
  primary key (__connect_topic, __connect_partition, __connect_offset))`;
}

/**
 * Rows the peer has written, read from the highest offset per partition (an index lookup each):
 * a task writes a partition's records in offset order, so offset k written means 0..k are.
 */
export async function peerRowsWritten(db: pg.Client, topic: string, perPartition: number[]): Promise<number> {
  const result = await db.query<{ p: number; last: string | null }>(
    `select p, (select max(__connect_offset) from ${PEER_TABLE} where __connect_topic = $1 and __connect_partition = p) as last
       from generate_series(0, $2::int - 1) as p`,
    [topic, perPartition.length],
  );
  return result.rows.reduce((n, r) => n + (r.last === null ? 0 : Math.min(Number(r.last) + 1, perPartition[r.p]!)), 0);
}
