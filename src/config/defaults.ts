// Every default of the project in one place: the local development setup of the README.
export const DEFAULTS = Object.freeze({
  brokers: 'localhost:9092',
  databaseUrl: 'postgresql://postgres@127.0.0.1:5432/zipbank',
  customersTopic: 'bank-customer-new',
  transactionsTopic: 'bank-customer-events',
  /** One Kafka partition per branch: partition p carries branch p's events. */
  partitions: 8,
});
