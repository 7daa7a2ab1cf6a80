import { Option, type Command } from 'commander';
import { UsageError } from '../errors';

export const DEFAULT_BROKERS = '127.0.0.1:9092';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_REGISTRY_URL = 'http://127.0.0.1:8081';

/** The connection flags every data command shares; each falls back to the apps' variable. */
export interface ConnectionFlags {
  bootstrapServer?: string;
  redisUrl?: string;
  registryUrl?: string;
  topicPrefix?: string;
}

export interface Connection {
  brokers: string[];
  redisUrl: string;
  registryUrl: string;
  /** TOPIC_PREFIX: physical topic, consumer group and Redis key prefix all start with it. */
  topicPrefix: string;
}

/** Adds --bootstrap-server, --redis-url, --registry-url and --topic-prefix to `command`. */
export function withConnectionOptions(command: Command): Command {
  return command
    .addOption(new Option('--bootstrap-server <host:port,…>', `Kafka brokers, comma-separated (default: $KAFKA_BROKERS, else ${DEFAULT_BROKERS})`))
    .addOption(new Option('--redis-url <url>', `Redis holding the read models (default: $REDIS_URL, else ${DEFAULT_REDIS_URL})`))
    .addOption(new Option('--registry-url <url>', `schema registry (default: $SCHEMA_REGISTRY_URL, else ${DEFAULT_REGISTRY_URL})`))
    .addOption(new Option('--topic-prefix <prefix>', "the apps' TOPIC_PREFIX (default: $TOPIC_PREFIX, else none)"));
}

/** Flags first, then the same environment variables the apps read, then the local defaults. */
export function resolveConnection(flags: ConnectionFlags, env: Record<string, string | undefined>): Connection {
  const brokers = (flags.bootstrapServer ?? env.KAFKA_BROKERS ?? DEFAULT_BROKERS)
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (brokers.length === 0) throw new UsageError('--bootstrap-server', 'no broker address given');
  const redisUrl = flags.redisUrl ?? env.REDIS_URL ?? DEFAULT_REDIS_URL;
  if (!/^rediss?:\/\//.test(redisUrl)) throw new UsageError('--redis-url', `"${redisUrl}" is not a redis:// or rediss:// URL`);
  const registryUrl = flags.registryUrl ?? env.SCHEMA_REGISTRY_URL ?? DEFAULT_REGISTRY_URL;
  if (!/^https?:\/\//.test(registryUrl)) throw new UsageError('--registry-url', `"${registryUrl}" is not an http(s):// URL`);
  return { brokers, redisUrl, registryUrl, topicPrefix: flags.topicPrefix ?? env.TOPIC_PREFIX ?? '' };
}
