import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import type { Logger } from 'pino';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** A kafkajs client whose logs go through the app's pino logger, as structured lines. */
export function createKafka(options: { clientId: string; brokers: string[]; logger: Logger }): Kafka {
  const kafkaLogger = options.logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    logLevel: logLevel.WARN,
    retry: { initialRetryTime: 200, retries: 10 },
    logCreator:
      () =>
      ({ namespace, level, log }: LogEntry) => {
        const { message, timestamp: _timestamp, logger: _name, ...extra } = log;
        kafkaLogger[LEVELS[level] ?? 'info']({ namespace, ...extra }, message);
      },
  });
}
