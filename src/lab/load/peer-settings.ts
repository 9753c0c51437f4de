// The settings of the peer's Kafka Connect worker and of its JDBC sink connector, written as the
// properties files Connect standalone reads.
import os from 'node:os';
import { PEER_TABLE } from './peer-table.js';

/** Kafka Connect's JDBC URL and credentials for a postgres:// URL. */
export function jdbcConnection(databaseUrl: string): { url: string; user: string; password: string } {
  const u = new URL(databaseUrl);
  return {
    url: `jdbc:postgresql://${u.hostname}:${u.port || '5432'}${u.pathname}`,
    user: decodeURIComponent(u.username) || os.userInfo().username,
    password: decodeURIComponent(u.password),
  };
}

/** The standalone worker's and the connector's settings, as properties files. */
export function peerProperties(options: {
  brokers: string;
  topic: string;
  databaseUrl: string;
  tasks: number;
  restPort: number;
  offsetsFile: string;
  name: string;
  /** Each row also gets its record's Kafka timestamp (peerTableDdl). */
  timed?: boolean;
  /**
   * A latency budget for the peer, as the ingester's --linger-ms is one: its consumer's fetches
   * wait up to this long for a megabyte, so each poll, flush and commit carries more records.
   * Undefined: Connect's defaults (a fetch returns as soon as one record is there).
   */
  fetchWaitMs?: number | undefined;
}): { worker: string; connector: string } {
  const jdbc = jdbcConnection(options.databaseUrl);
  const lines = (entries: Record<string, string | number>) =>
    `${Object.entries(entries)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`;
  return {
    worker: lines({
      'bootstrap.servers': options.brokers,
      'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
      'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'value.converter.schemas.enable': 'true',
      'offset.storage.file.filename': options.offsetsFile,
      listeners: `http://127.0.0.1:${options.restPort}`,
      // Every jar is on the class path: no plugin folders to scan.
      'plugin.discovery': 'only_scan',
      ...(options.fetchWaitMs === undefined
        ? {}
        : { 'consumer.fetch.min.bytes': 1_048_576, 'consumer.fetch.max.wait.ms': options.fetchWaitMs }),
    }),
    connector: lines({
      // Its consumer group is connect-<name>: a name of its own per run, or a second run would
      // start from the offsets the first one committed.
      name: options.name,
      'connector.class': 'io.debezium.connector.jdbc.JdbcSinkConnector',
      'tasks.max': options.tasks,
      topics: options.topic,
      'connection.url': jdbc.url,
      'connection.username': jdbc.user,
      'connection.password': jdbc.password,
      'insert.mode': 'insert',
      // Up to 10,000 records a flush, as the issue's measurement set it (500 by default); a put
      // of fewer is flushed at its end.
      'batch.size': 10_000,
      'primary.key.mode': 'kafka',
      // The table exists before the start, as the ingester's schema does: two tasks creating it
      // at once race, and one of them waits out a retry.
      'schema.evolution': 'none',
      'collection.name.format': PEER_TABLE,
      ...(options.timed
        ? {
            transforms: 'produced',
            'transforms.produced.type': 'org.apache.kafka.connect.transforms.InsertField$Value',
            'transforms.produced.timestamp.field': 'produced_at',
          }
        : {}),
    }),
  };
}
