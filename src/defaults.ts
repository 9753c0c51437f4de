// Every default of the project in one place: the local development setup of the README.
export const DEFAULTS = Object.freeze({
  brokers: 'localhost:9092',
  databaseUrl: 'postgresql://postgres@127.0.0.1:5432/zipbank',
  customersTopic: 'bank-customer-new',
  transactionsTopic: 'bank-customer-events',
  /** One Kafka partition per branch: partition p carries branch p's events. */
  partitions: 8,
});

/** Reads an environment variable, treating an empty value as unset. */
export function env(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
}
