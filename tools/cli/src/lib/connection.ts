import { Option, type Command } from 'commander';
import { redisUrls } from '@waybill/platform';
import { UsageError } from '../errors';

export const DEFAULT_BROKERS = '127.0.0.1:9092';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_REGISTRY_URL = 'http://127.0.0.1:8081';

/** The connection flags every data command shares; each falls back to the apps' variable. */
export interface ConnectionFlags {
  bootstrapServer?: string;
  redisUrl?: string;
  redisCluster?: boolean;
  registryUrl?: string;
  topicPrefix?: string;
}

export interface Connection {
  brokers: string[];
  /** One Redis, or (with `redisCluster`) a Redis Cluster's startup nodes, comma-separated. */
  redisUrl: string;
  redisCluster: boolean;
  registryUrl: string;
  /** TOPIC_PREFIX: physical topic, consumer group and Redis key prefix all start with it. */
  topicPrefix: string;
}

/** Adds --bootstrap-server, --redis-url, --redis-cluster, --registry-url and --topic-prefix to `command`. */
export function withConnectionOptions(command: Command): Command {
  return command
    .addOption(new Option('--bootstrap-server <host:port,…>', `Kafka brokers, comma-separated (default: $KAFKA_BROKERS, else ${DEFAULT_BROKERS})`))
    .addOption(new Option('--redis-url <url>', `Redis holding the read models; with --redis-cluster, nodes of the cluster, comma-separated (default: $REDIS_URL, else ${DEFAULT_REDIS_URL})`))
    .addOption(new Option('--redis-cluster', 'the Redis is a Redis Cluster (default: $REDIS_CLUSTER=true)'))
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
  const redisCluster = flags.redisCluster ?? env.REDIS_CLUSTER === 'true';
  const urls = redisUrls(redisUrl);
  const bad = urls.find((url) => !/^rediss?:\/\//.test(url));
  if (urls.length === 0 || bad !== undefined) throw new UsageError('--redis-url', `"${bad ?? redisUrl}" is not a redis:// or rediss:// URL`);
  if (urls.length > 1 && !redisCluster) throw new UsageError('--redis-url', `names ${urls.length} Redis servers: add --redis-cluster if they are the nodes of one Redis Cluster`);
  const registryUrl = flags.registryUrl ?? env.SCHEMA_REGISTRY_URL ?? DEFAULT_REGISTRY_URL;
  if (!/^https?:\/\//.test(registryUrl)) throw new UsageError('--registry-url', `"${registryUrl}" is not an http(s):// URL`);
  return { brokers, redisUrl, redisCluster, registryUrl, topicPrefix: flags.topicPrefix ?? env.TOPIC_PREFIX ?? '' };
}
