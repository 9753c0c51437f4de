// The librdkafka version the binding was built with, for the build-info metric.
import Kafka from 'node-rdkafka';

export function librdkafkaVersion(): string {
  return Kafka.librdkafkaVersion;
}
