import { existsSync, readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import type { ConnectionOptions } from 'node:tls';
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import Redis, { Cluster, type RedisOptions } from 'ioredis';
import { z } from 'zod';
import { ConfigError } from './errors';

/**
 * How every Waybill process (apps, the registry, the CLI, the demo, the benchmarks) reaches
 * Kafka, Redis and the schema registry when they are secured: one set of environment variables,
 * parsed here, turned into client options here. The README's "Connecting to your own cluster"
 * lists them; nothing else reads them. Unset, everything is plaintext and unauthenticated, as on
 * `npm start`.
 *
 * Names follow the clients operators already know: librdkafka / Confluent
 * (`security.protocol`, `sasl.mechanism`, `ssl.ca.location`, `basic.auth.user.info`) with
 * `.` → `_` and a service prefix.
 */

export const KAFKA_SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export const KAFKA_SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;

/** Variables holding secrets: never logged, never echoed in an error, never served. */
export const SECRET_VARIABLES = ['KAFKA_SASL_PASSWORD', 'KAFKA_SSL_KEY_PASSWORD', 'REDIS_PASSWORD', 'SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO'] as const;

const pemFile = z
  .string()
  .min(1)
  .refine((path) => existsSync(path), 'no such file (a PEM file path is expected)')
  .optional();

const optionalString = z.string().min(1).optional();

/** The connection variables, every one optional; `connectionConfigShape` is spread into `baseConfigShape`. */
export const connectionConfigShape = {
  KAFKA_SECURITY_PROTOCOL: z.enum(KAFKA_SECURITY_PROTOCOLS).default('PLAINTEXT'),
  KAFKA_SASL_MECHANISM: z.enum(KAFKA_SASL_MECHANISMS).optional(),
  KAFKA_SASL_USERNAME: optionalString,
  KAFKA_SASL_PASSWORD: optionalString,
  KAFKA_SSL_CA_LOCATION: pemFile,
  KAFKA_SSL_CERTIFICATE_LOCATION: pemFile,
  KAFKA_SSL_KEY_LOCATION: pemFile,
  KAFKA_SSL_KEY_PASSWORD: optionalString,
  /** REDIS_URL names a Redis Cluster: the apps talk to it through ioredis's Cluster client (every multi-key write stays in one hash slot). */
  REDIS_CLUSTER: z
    .enum(['true', 'false'])
    .default('false')
    .transform((flag) => flag === 'true'),
  REDIS_USERNAME: optionalString,
  REDIS_PASSWORD: optionalString,
  REDIS_TLS_CA_LOCATION: pemFile,
  REDIS_TLS_CERTIFICATE_LOCATION: pemFile,
  REDIS_TLS_KEY_LOCATION: pemFile,
  SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO: z
    .string()
    .regex(/^[^:]+:.+$/, 'must be user:password (Confluent basic.auth.user.info)')
    .optional(),
  SCHEMA_REGISTRY_SSL_CA_LOCATION: pemFile,
  SCHEMA_REGISTRY_SSL_CERTIFICATE_LOCATION: pemFile,
  SCHEMA_REGISTRY_SSL_KEY_LOCATION: pemFile,
} as const;

export interface ConnectionConfig {
  KAFKA_BROKERS: string[];
  REDIS_URL: string;
  REDIS_CLUSTER?: boolean;
  SCHEMA_REGISTRY_URL: string;
  KAFKA_SECURITY_PROTOCOL: (typeof KAFKA_SECURITY_PROTOCOLS)[number];
  KAFKA_SASL_MECHANISM?: (typeof KAFKA_SASL_MECHANISMS)[number];
  KAFKA_SASL_USERNAME?: string;
  KAFKA_SASL_PASSWORD?: string;
  KAFKA_SSL_CA_LOCATION?: string;
  KAFKA_SSL_CERTIFICATE_LOCATION?: string;
  KAFKA_SSL_KEY_LOCATION?: string;
  KAFKA_SSL_KEY_PASSWORD?: string;
  REDIS_USERNAME?: string;
  REDIS_PASSWORD?: string;
  REDIS_TLS_CA_LOCATION?: string;
  REDIS_TLS_CERTIFICATE_LOCATION?: string;
  REDIS_TLS_KEY_LOCATION?: string;
  SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO?: string;
  SCHEMA_REGISTRY_SSL_CA_LOCATION?: string;
  SCHEMA_REGISTRY_SSL_CERTIFICATE_LOCATION?: string;
  SCHEMA_REGISTRY_SSL_KEY_LOCATION?: string;
}

type Issue = { path: string; message: string };

/**
 * The rules between variables (a SASL protocol needs a mechanism and both credentials, a client
 * certificate needs its key, TLS variables need a TLS URL…). Checked at configuration time, so a
 * half-secured deployment is a configuration error (exit 2) and never a silent plaintext one.
 */
export function connectionProblems(config: Partial<ConnectionConfig>): Issue[] {
  const issues: Issue[] = [];
  const protocol = config.KAFKA_SECURITY_PROTOCOL ?? 'PLAINTEXT';
  const sasl = protocol.startsWith('SASL_');
  const tls = protocol.endsWith('SSL');
  if (sasl) {
    if (!config.KAFKA_SASL_MECHANISM) issues.push({ path: 'KAFKA_SASL_MECHANISM', message: `is required with KAFKA_SECURITY_PROTOCOL=${protocol} (one of ${KAFKA_SASL_MECHANISMS.join(', ')})` });
    if (!config.KAFKA_SASL_USERNAME) issues.push({ path: 'KAFKA_SASL_USERNAME', message: `is required with KAFKA_SECURITY_PROTOCOL=${protocol}` });
    if (!config.KAFKA_SASL_PASSWORD) issues.push({ path: 'KAFKA_SASL_PASSWORD', message: `is required with KAFKA_SECURITY_PROTOCOL=${protocol}` });
  } else {
    for (const name of ['KAFKA_SASL_MECHANISM', 'KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] as const) {
      if (config[name] !== undefined) issues.push({ path: name, message: `is only used with KAFKA_SECURITY_PROTOCOL=SASL_SSL or SASL_PLAINTEXT (it is ${protocol})` });
    }
  }
  if (!tls) {
    for (const name of ['KAFKA_SSL_CA_LOCATION', 'KAFKA_SSL_CERTIFICATE_LOCATION', 'KAFKA_SSL_KEY_LOCATION', 'KAFKA_SSL_KEY_PASSWORD'] as const) {
      if (config[name] !== undefined) issues.push({ path: name, message: `is only used with KAFKA_SECURITY_PROTOCOL=SSL or SASL_SSL (it is ${protocol})` });
    }
  }
  pairProblems(issues, config, 'KAFKA_SSL_CERTIFICATE_LOCATION', 'KAFKA_SSL_KEY_LOCATION');
  pairProblems(issues, config, 'REDIS_TLS_CERTIFICATE_LOCATION', 'REDIS_TLS_KEY_LOCATION');
  pairProblems(issues, config, 'SCHEMA_REGISTRY_SSL_CERTIFICATE_LOCATION', 'SCHEMA_REGISTRY_SSL_KEY_LOCATION');

  if (config.REDIS_URL !== undefined) {
    const urls = redisUrls(config.REDIS_URL).map(safeUrl);
    const [url] = urls;
    if (urls.length > 1 && !config.REDIS_CLUSTER) issues.push({ path: 'REDIS_URL', message: `names ${urls.length} Redis servers: set REDIS_CLUSTER=true if they are the nodes of one Redis Cluster` });
    if (urls.some((u) => u && (u.password || u.username))) issues.push({ path: 'REDIS_URL', message: 'must not carry credentials: set REDIS_USERNAME / REDIS_PASSWORD (a URL is printed and logged, a secret must not be)' });
    if (new Set(urls.map((u) => u?.protocol)).size > 1) issues.push({ path: 'REDIS_URL', message: 'mixes redis:// and rediss:// nodes: a cluster is spoken to with TLS on every node or on none' });
    if (url && url.protocol !== 'rediss:') {
      for (const name of ['REDIS_TLS_CA_LOCATION', 'REDIS_TLS_CERTIFICATE_LOCATION', 'REDIS_TLS_KEY_LOCATION'] as const) {
        if (config[name] !== undefined) issues.push({ path: name, message: 'is only used with a rediss:// REDIS_URL' });
      }
    }
  }
  if (config.REDIS_USERNAME !== undefined && config.REDIS_PASSWORD === undefined) issues.push({ path: 'REDIS_PASSWORD', message: 'is required with REDIS_USERNAME' });
  if (config.SCHEMA_REGISTRY_URL !== undefined) {
    const url = safeUrl(config.SCHEMA_REGISTRY_URL);
    if (url && (url.password || url.username)) issues.push({ path: 'SCHEMA_REGISTRY_URL', message: 'must not carry credentials: set SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO=user:password' });
    if (url && url.protocol !== 'https:') {
      for (const name of ['SCHEMA_REGISTRY_SSL_CA_LOCATION', 'SCHEMA_REGISTRY_SSL_CERTIFICATE_LOCATION', 'SCHEMA_REGISTRY_SSL_KEY_LOCATION'] as const) {
        if (config[name] !== undefined) issues.push({ path: name, message: 'is only used with an https:// SCHEMA_REGISTRY_URL' });
      }
    }
  }
  return issues;
}

function pairProblems(issues: Issue[], config: Partial<ConnectionConfig>, cert: keyof ConnectionConfig, key: keyof ConnectionConfig): void {
  if (config[cert] !== undefined && config[key] === undefined) issues.push({ path: key, message: `is required with ${cert} (the client certificate's private key)` });
  if (config[key] !== undefined && config[cert] === undefined) issues.push({ path: cert, message: `is required with ${key}` });
}

function safeUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/** Adds `connectionProblems` to a zod object schema's issues (use with `.superRefine`). */
export function refineConnections(config: Partial<ConnectionConfig>, ctx: z.RefinementCtx): void {
  for (const issue of connectionProblems(config)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [issue.path], message: issue.message });
}

/** The connection variables out of an environment (for tools that do not run `loadConfig`), checked. */
export const connectionEnvSchema = z.object(connectionConfigShape);

const read = (path: string | undefined): string | undefined => (path === undefined ? undefined : readFileSync(path, 'utf8'));

function tlsOptions(ca: string | undefined, cert: string | undefined, key: string | undefined, passphrase?: string): ConnectionOptions {
  const options: ConnectionOptions = {};
  if (ca) options.ca = [read(ca) as string];
  if (cert) options.cert = read(cert);
  if (key) options.key = read(key);
  if (passphrase) options.passphrase = passphrase;
  return options;
}

/** kafkajs's `ssl` and `sasl` options for the configured protocol; `{}` for PLAINTEXT. */
export function kafkaSecurity(config: Partial<ConnectionConfig>): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const protocol = config.KAFKA_SECURITY_PROTOCOL ?? 'PLAINTEXT';
  const security: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  if (protocol.endsWith('SSL')) {
    security.ssl = { ...tlsOptions(config.KAFKA_SSL_CA_LOCATION, config.KAFKA_SSL_CERTIFICATE_LOCATION, config.KAFKA_SSL_KEY_LOCATION, config.KAFKA_SSL_KEY_PASSWORD), rejectUnauthorized: true };
  }
  if (protocol.startsWith('SASL_')) {
    const mechanism = (config.KAFKA_SASL_MECHANISM ?? 'PLAIN').toLowerCase() as 'plain' | 'scram-sha-256' | 'scram-sha-512';
    security.sasl = { mechanism, username: config.KAFKA_SASL_USERNAME ?? '', password: config.KAFKA_SASL_PASSWORD ?? '' } as SASLOptions;
  }
  return security;
}

/** ioredis options for the configured user, password and TLS (merged under `extra`). */
export function redisOptions(config: Partial<ConnectionConfig>, extra: RedisOptions = {}): RedisOptions {
  const options: RedisOptions = { ...extra };
  if (config.REDIS_USERNAME) options.username = config.REDIS_USERNAME;
  if (config.REDIS_PASSWORD) options.password = config.REDIS_PASSWORD;
  if (config.REDIS_URL && /^rediss:/i.test(config.REDIS_URL)) {
    options.tls = { ...tlsOptions(config.REDIS_TLS_CA_LOCATION, config.REDIS_TLS_CERTIFICATE_LOCATION, config.REDIS_TLS_KEY_LOCATION), rejectUnauthorized: true };
  }
  return options;
}

/** The URLs in a `REDIS_URL` (one, or a Redis Cluster's startup nodes, comma-separated). */
export function redisUrls(spec: string): string[] {
  return spec
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
}

/** A single Redis or a Redis Cluster: every Redis user in Waybill takes either. */
export type RedisClient = Redis | Cluster;

/**
 * A Redis client on `REDIS_URL` with the configured credentials and TLS: the one way apps and
 * tools open Redis. With `REDIS_CLUSTER`, ioredis's Cluster client on the listed nodes (it learns
 * the rest of the cluster from them).
 */
export function createRedis(config: Partial<ConnectionConfig> & { REDIS_URL: string }, extra: RedisOptions = {}): RedisClient {
  const options = redisOptions(config, extra);
  if (!config.REDIS_CLUSTER) return new Redis(config.REDIS_URL, options);
  const nodes = redisUrls(config.REDIS_URL).map((spec) => {
    const url = new URL(spec);
    return { host: url.hostname, port: Number(url.port || 6379) };
  });
  // Credentials, TLS and maxRetriesPerRequest are per-node options; connecting lazily and giving up
  // on reconnects are the cluster client's own.
  const { lazyConnect, retryStrategy, enableOfflineQueue, ...perNode } = options;
  return new Cluster(nodes, {
    redisOptions: perNode,
    ...(lazyConnect === undefined ? {} : { lazyConnect }),
    ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
    ...(retryStrategy ? { clusterRetryStrategy: (times: number) => retryStrategy(times) } : {}),
  });
}

/** A second connection with the same settings (a subscriber, which cannot send other commands). */
export function duplicateRedis(redis: RedisClient): RedisClient {
  // The two branches read alike; TypeScript cannot call `duplicate` on the union itself.
  return redis instanceof Cluster ? redis.duplicate() : redis.duplicate();
}

/** The clients a SCAN must visit: each master of a Redis Cluster (a SCAN sees one node's keys), or the one Redis. */
function scanTargets(redis: RedisClient): Redis[] {
  return redis instanceof Cluster ? redis.nodes('master') : [redis];
}

/** Every key matching the glob `match` (SCAN, so it never blocks Redis), on every master of a cluster. */
export async function scanKeys(redis: RedisClient, match: string): Promise<string[]> {
  const found = new Set<string>();
  for (const node of scanTargets(redis)) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', match, 'COUNT', '1000');
      for (const key of batch) found.add(key);
      cursor = next;
    } while (cursor !== '0');
  }
  return [...found];
}

/**
 * Deletes `keys` (UNLINK: freed in the background); returns how many existed. A cluster takes one
 * key per command, since one UNLINK of keys in different slots is refused (CROSSSLOT).
 */
export async function unlinkKeys(redis: RedisClient, keys: readonly string[]): Promise<number> {
  let removed = 0;
  for (let i = 0; i < keys.length; i += 500) {
    const chunk = keys.slice(i, i + 500);
    removed += redis instanceof Cluster ? (await Promise.all(chunk.map((key) => redis.unlink(key)))).reduce((a, b) => a + b, 0) : await redis.unlink(...chunk);
  }
  return removed;
}

/**
 * Deletes the keys of a read model's layout before its Redis Cluster hash slots, when `marker` (a
 * key that layout always had) still exists: the read model itself is rebuilt from its topics, this
 * only frees what the old layout left behind. Returns how many keys went.
 */
export async function dropLegacyLayout(redis: RedisClient, marker: string, match: string): Promise<number> {
  if ((await redis.exists(marker)) === 0) return 0;
  return unlinkKeys(redis, await scanKeys(redis, match));
}

/** What `kafkajsRegistryClient` (libs/contracts) takes besides the URL: basic auth and, for https, the trusted CA. */
export interface RegistryConnectionOptions {
  auth?: { username: string; password: string };
  agent?: HttpsAgent;
}

/** Registry client options: `basic.auth.user.info` split at its first colon, an https agent trusting the CA. */
export function registryClientOptions(config: Partial<ConnectionConfig>): RegistryConnectionOptions {
  const options: RegistryConnectionOptions = {};
  const info = config.SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO;
  if (info) {
    const colon = info.indexOf(':');
    options.auth = { username: info.slice(0, colon), password: info.slice(colon + 1) };
  }
  if (config.SCHEMA_REGISTRY_URL && /^https:/i.test(config.SCHEMA_REGISTRY_URL)) {
    options.agent = new HttpsAgent({
      keepAlive: true,
      ...tlsOptions(config.SCHEMA_REGISTRY_SSL_CA_LOCATION, config.SCHEMA_REGISTRY_SSL_CERTIFICATE_LOCATION, config.SCHEMA_REGISTRY_SSL_KEY_LOCATION),
      rejectUnauthorized: true,
    });
  }
  return options;
}

/** The connection variables of an environment, checked (for the CLI, the demo and the benchmarks). */
export function connectionsFromEnv(env: NodeJS.ProcessEnv, required: { KAFKA_BROKERS?: string[]; REDIS_URL?: string; SCHEMA_REGISTRY_URL?: string } = {}): Partial<ConnectionConfig> {
  const parsed = connectionEnvSchema.safeParse(env);
  const issues: Issue[] = parsed.success ? [] : parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  const config: Partial<ConnectionConfig> = { ...(parsed.success ? parsed.data : {}), ...required };
  issues.push(...connectionProblems(config));
  if (issues.length) throw new ConfigError(issues.map((i) => `${i.path}: ${i.message}`));
  return config;
}
