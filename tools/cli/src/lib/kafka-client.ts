import { Kafka, logLevel, type Admin } from 'kafkajs';
import { connectionsFromEnv, kafkaSecurity } from '@waybill/platform';

/**
 * The CLI's kafkajs client. kafkajs' own logging is off: the CLI reports failures itself, and
 * stray log lines would corrupt `--output json`. Retries are fewer than the apps use, so an
 * unreachable broker fails in seconds, not minutes. TLS and SASL come from the environment, as
 * for every app (README "Connecting to your own cluster").
 */
export function cliKafka(brokers: string[], env: NodeJS.ProcessEnv = process.env): Kafka {
  return new Kafka({
    clientId: 'waybill-cli',
    brokers,
    ...kafkaSecurity(connectionsFromEnv(env)),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5_000,
    retry: { initialRetryTime: 250, retries: 4 },
  });
}

/** Runs `fn` with a connected admin client (and its Kafka client) and always disconnects. */
export async function withAdmin<T>(brokers: string[], fn: (admin: Admin, kafka: Kafka) => Promise<T>): Promise<T> {
  const kafka = cliKafka(brokers);
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(admin, kafka);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
