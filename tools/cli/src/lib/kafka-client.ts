import { Kafka, logLevel, type Admin } from 'kafkajs';

/**
 * Runs `fn` with a connected admin client and always disconnects. kafkajs' own logging is off:
 * the CLI reports failures itself, and stray log lines would corrupt `--output json`.
 * Retries are fewer than the apps use, so an unreachable broker fails in seconds, not minutes.
 */
export async function withAdmin<T>(brokers: string[], fn: (admin: Admin) => Promise<T>): Promise<T> {
  const kafka = new Kafka({
    clientId: 'waybill-cli',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5_000,
    retry: { initialRetryTime: 250, retries: 4 },
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
