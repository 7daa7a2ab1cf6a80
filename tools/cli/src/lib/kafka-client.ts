import { Kafka, logLevel, type Admin } from 'kafkajs';

/**
 * The CLI's kafkajs client. kafkajs' own logging is off: the CLI reports failures itself, and
 * stray log lines would corrupt `--output json`. Retries are fewer than the apps use, so an
 * unreachable broker fails in seconds, not minutes.
 */
export function cliKafka(brokers: string[]): Kafka {
  return new Kafka({
    clientId: 'waybill-cli',
    brokers,
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
