// What identifies a Kafka record apart from its offset: its timestamp, key and value, hashed.
// The branch stores the fingerprint of the last record it committed and reads the record at
// that offset back before its first fetch: a different record there means the topic was
// deleted and created again (the binding gives no topic ID to compare).
import { createHash } from 'node:crypto';
import type { RawRecord } from './raw-record.js';

/** 16 bytes of SHA-256 over the timestamp, the key (length-prefixed) and the value. */
export function recordFingerprint(record: Pick<RawRecord, 'timestamp' | 'key' | 'value'>): Buffer {
  const head = Buffer.alloc(12);
  head.writeDoubleBE(record.timestamp ?? -1, 0);
  head.writeInt32BE(record.key ? record.key.length : -1, 8);
  const hash = createHash('sha256').update(head);
  if (record.key) hash.update(record.key);
  if (record.value) hash.update(record.value);
  return hash.digest().subarray(0, 16);
}
