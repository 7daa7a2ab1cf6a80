import type { Logger } from 'pino';

type Level = 'error' | 'warn' | 'info' | 'debug';

/**
 * Broker answers kafkajs retries by itself, as the protocol means them to be retried: a
 * coordinator moving or loading, a leader election, a rebalance, a transaction step still under
 * way. kafkajs logs each at ERROR; when the retry succeeds nothing was wrong.
 */
const RETRIED = [
  'another concurrent operation on the same transaction was ongoing',
  'The group coordinator is not available',
  'This is not the correct coordinator',
  'The coordinator is loading',
  'This server is not the leader for that topic-partition',
  'There is no leader for this topic-partition',
  'This server does not host this topic-partition',
  'The group is rebalancing',
  'The coordinator is not available',
];

/** Lost or refused connections: one outage, however many lines kafkajs writes about it. */
const CONNECTION = /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|Connection (error|timeout|closed)|Closed connection|Failed to connect|seed broker|KafkaJSConnection/i;

/**
 * A consumer kafkajs restarts by itself ("Crash: …" then "Restarting the consumer in …", both at
 * ERROR): a retry, worth a warn. One it gives up on reaches the app's crash handler, which says so
 * at error and exits.
 */
const RESTART = /^(Crash: |Restarting the consumer in )/;

export type KafkaLogClass = 'retried' | 'connection' | 'restart' | 'other';

/** What a kafkajs log line is about, from its message and error text. */
export function classifyKafkaLog(message: string, error: unknown): KafkaLogClass {
  const text = `${message} ${typeof error === 'string' ? error : ''}`;
  if (RESTART.test(message)) return 'restart';
  if (CONNECTION.test(text)) return 'connection';
  if (RETRIED.some((phrase) => text.includes(phrase))) return 'retried';
  return 'other';
}

/**
 * Routes kafkajs's log lines into pino at the level an operator needs: retried conditions at
 * debug; a connection outage as one warn when it starts and one info line once no connection error
 * has been seen for `quietMs` (the lines between at debug, counted); everything else as kafkajs
 * rated it.
 */
export function kafkaLogSink(logger: Logger, options: { quietMs?: number; now?: () => number } = {}) {
  const quietMs = options.quietMs ?? 10_000;
  const now = options.now ?? Date.now;
  let outage: { since: number; last: number; lines: number } | undefined;
  const endIfQuiet = () => {
    if (outage && now() - outage.last >= quietMs) {
      logger.info({ outageMs: outage.last - outage.since, linesAtDebug: outage.lines }, `Kafka connections work again (no connection error for ${Math.round(quietMs / 1000)} s)`);
      outage = undefined;
    }
  };
  const timer = setInterval(endIfQuiet, Math.min(quietMs, 5_000));
  timer.unref();
  return {
    write(level: Level, namespace: string | undefined, message: string, extra: Record<string, unknown>): void {
      endIfQuiet();
      const kind = level === 'error' || level === 'warn' ? classifyKafkaLog(message, extra.error) : 'other';
      if (kind === 'retried') return void logger.debug({ namespace, ...extra }, message);
      if (kind === 'restart') return void logger.warn({ namespace, ...extra }, message);
      if (kind === 'connection') {
        if (outage) {
          outage.last = now();
          outage.lines += 1;
          return void logger.debug({ namespace, ...extra }, message);
        }
        outage = { since: now(), last: now(), lines: 0 };
        return void logger.warn({ namespace, ...extra }, `Kafka connection lost; retrying (repeats logged at debug until it works again): ${message}`);
      }
      logger[level]({ namespace, ...extra }, message);
    },
    stop: () => clearInterval(timer),
  };
}
