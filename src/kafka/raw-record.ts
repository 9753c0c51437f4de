// A record as the branch consumer hands it over: its Kafka coordinates and its raw bytes.

export interface Coordinates {
  topic: string;
  partition: number;
  offset: number;
}

export interface RawRecord extends Coordinates {
  key: Buffer | null | undefined;
  value: Buffer | null | undefined;
  /** Kafka's record timestamp in epoch milliseconds, when the broker has one. */
  timestamp?: number | undefined;
}
