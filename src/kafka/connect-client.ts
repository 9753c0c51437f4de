// Connects a librdkafka client and, when it fails, says why. librdkafka's connect error is only
// "broker transport failure"; the cause (connection refused, SSL handshake failed: certificate
// verify failed, SASL authentication failed) is in its log lines, which event_cb: true (see
// client-config.ts) delivers as 'event.log'. The first such failure becomes the error message.
import type Kafka from 'node-rdkafka';
import { ERROR_CODES, IngesterError } from '../core/errors.js';

interface LogEvent {
  severity: number;
  fac: string;
  message: string;
}

/** "[thrd:...]: host:port/bootstrap: Connect to ... failed: ... (after 0ms in state CONNECT)" -> the middle. */
export function failureCause(message: string): string {
  return message
    .replace(/^\[thrd:[^\]]*\]:\s*/, '')
    .replace(/^[^\s:]+:\d+\/[\w-]+:\s*/, '')
    .replace(/^[a-z_]+:\/\/[^\s/]+\/[\w-]+:\s*/i, '')
    .replace(/\s*\(after \d+ms in state [^)]*\)\s*$/, '');
}

export function connectClient(
  client: Kafka.Client<never> | Kafka.KafkaConsumer | Kafka.Producer,
  brokers: string,
  timeoutMs: number,
): Promise<void> {
  let cause: string | undefined;
  // Errors (3) and worse; FAIL is librdkafka's facility for a failed broker connection.
  const onLog = (event: LogEvent) => {
    if (cause === undefined && event.severity <= 3) cause = failureCause(event.message);
  };
  const emitter = client as unknown as NodeJS.EventEmitter;
  emitter.on('event.log', onLog);
  return new Promise<void>((resolve, reject) => {
    client.connect({ timeout: timeoutMs }, (err) => {
      emitter.removeListener('event.log', onLog);
      if (!err) resolve();
      else
        reject(
          new IngesterError(
            ERROR_CODES.KAFKA_UNAVAILABLE,
            `cannot reach Kafka at ${brokers}: ${cause ?? err.message}`,
            { cause: err },
          ),
        );
    });
  });
}
