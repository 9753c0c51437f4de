import type { GlobalConfig } from 'node-rdkafka';

/** librdkafka settings shared by every client this project creates. */
export function baseClientConfig(brokers: string, clientId: string): GlobalConfig {
  return {
    'metadata.broker.list': brokers,
    'client.id': clientId,
    'socket.keepalive.enable': true,
    // Keep librdkafka's own log lines to warnings and worse; our logs carry the context.
    log_level: 4,
  };
}
