import type { GlobalConfig } from 'node-rdkafka';
import type { KafkaConnection } from './kafka-settings.js';

/**
 * librdkafka settings shared by every client this project creates: the project's defaults, then
 * the operator's extra settings (TLS, SASL, timeouts; see kafka-settings.ts), then the brokers
 * and the client id, which are always the project's.
 */
export function baseClientConfig(kafka: KafkaConnection, clientId: string): GlobalConfig {
  return {
    'socket.keepalive.enable': true,
    // Keep librdkafka's own log lines to warnings and worse; our logs carry the context.
    log_level: 4,
    // librdkafka's log lines as 'event.log' events: connect-client.ts reads the cause of a failed
    // connection from them (the connect error itself only says "broker transport failure").
    event_cb: true,
    ...(kafka.settings as GlobalConfig),
    'metadata.broker.list': kafka.brokers,
    'client.id': clientId,
  };
}
