import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { baseConfigShape, loadConfig } from './config';
import { Cluster } from 'ioredis';
import { connectionProblems, createRedis, kafkaSecurity, redisOptions, redisUrls, registryClientOptions } from './connections';
import { ConfigError } from './errors';
import { classifyConnectionFailure, redactedUrl } from './preflight';

const dir = mkdtempSync(join(tmpdir(), 'waybill-connections-'));
const ca = join(dir, 'ca.pem');
writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
const schema = z.object(baseConfigShape);
const base = { PORT: '1', KAFKA_BROKERS: 'b:9093', SCHEMA_REGISTRY_URL: 'https://r:8081', REDIS_URL: 'rediss://r:6380', API_KEYS: 'ana:associate:' + 'a'.repeat(64) };

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(schema, { ...base, ...env });
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

describe('connection settings', () => {
  it('leave a plaintext environment as it was: no ssl, no sasl, no Redis TLS, no registry auth', () => {
    const config = loadConfig(schema, { ...base, SCHEMA_REGISTRY_URL: 'http://r:8081', REDIS_URL: 'redis://r:6379' });
    expect(config.KAFKA_SECURITY_PROTOCOL).toBe('PLAINTEXT');
    expect(kafkaSecurity(config)).toEqual({});
    expect(redisOptions(config)).toEqual({});
    expect(registryClientOptions(config)).toEqual({});
  });

  it('build kafkajs ssl + sasl from SASL_SSL with SCRAM-SHA-512 and the CA file', () => {
    const config = loadConfig(schema, { ...base, KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p:w', KAFKA_SSL_CA_LOCATION: ca });
    const security = kafkaSecurity(config);
    expect(security.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'u', password: 'p:w' });
    expect(security.ssl).toMatchObject({ rejectUnauthorized: true, ca: [expect.stringContaining('BEGIN CERTIFICATE')] });
  });

  it('split basic.auth.user.info at the first colon and trust the registry CA over https', () => {
    const options = registryClientOptions({ SCHEMA_REGISTRY_URL: 'https://r', SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO: 'svc:pa:ss', SCHEMA_REGISTRY_SSL_CA_LOCATION: ca });
    expect(options.auth).toEqual({ username: 'svc', password: 'pa:ss' });
    expect(options.agent?.options.ca).toEqual([expect.stringContaining('BEGIN CERTIFICATE')]);
    options.agent?.destroy();
  });

  it('refuse a half-secured environment, naming each variable and never a value', () => {
    const problems = problemsOf({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_PASSWORD: 'hunter2', REDIS_TLS_CA_LOCATION: join(dir, 'missing.pem') });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['KAFKA_SASL_MECHANISM', 'KAFKA_SASL_USERNAME', 'REDIS_TLS_CA_LOCATION']);
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it('refuse credentials inside URLs (they are printed) and TLS files without a TLS URL', () => {
    expect(connectionProblems({ REDIS_URL: 'redis://:secret@r:6379', REDIS_TLS_CA_LOCATION: ca }).map((p) => p.path)).toEqual(['REDIS_URL', 'REDIS_TLS_CA_LOCATION']);
    expect(connectionProblems({ SCHEMA_REGISTRY_URL: 'https://u:secret@r' }).map((p) => p.path)).toEqual(['SCHEMA_REGISTRY_URL']);
    expect(connectionProblems({ KAFKA_SECURITY_PROTOCOL: 'PLAINTEXT', KAFKA_SSL_CA_LOCATION: ca }).map((p) => p.path)).toEqual(['KAFKA_SSL_CA_LOCATION']);
    expect(connectionProblems({ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CERTIFICATE_LOCATION: ca }).map((p) => p.path)).toEqual(['KAFKA_SSL_KEY_LOCATION']);
  });

  it('print URLs without user info', () => {
    expect(redactedUrl('https://u:secret@r:8081/')).toBe('https://r:8081');
  });
});

describe('classifyConnectionFailure', () => {
  const kafkajs = (name: string, message: string, code?: string) => ({ name: 'KafkaJSNumberOfRetriesExceeded', message, cause: { name, message, code } });
  it.each([
    ['auth', kafkajs('KafkaJSSASLAuthenticationError', 'SASL SCRAM SHA512 authentication failed')],
    ['auth', { name: 'ReplyError', message: 'WRONGPASS invalid username-password pair or user is disabled.' }],
    ['untrusted', kafkajs('KafkaJSConnectionError', 'Connection error: self-signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN')],
    ['client-certificate', kafkajs('KafkaJSConnectionError', 'sslv3 alert bad certificate', 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE')],
    ['not-tls', kafkajs('KafkaJSConnectionError', 'Connection error: Client network socket disconnected before secure TLS connection was established', 'ECONNRESET')],
    ['closed', kafkajs('KafkaJSConnectionClosedError', 'Closed connection')],
    ['closed', { name: 'Error', message: 'Connection is closed.' }],
    [undefined, kafkajs('KafkaJSConnectionError', 'Connection error: connect ECONNREFUSED 127.0.0.1:9092', 'ECONNREFUSED')],
    [undefined, { name: 'Error', message: 'connect ETIMEDOUT' }],
  ])('%s ← %j', (kind, error) => {
    expect(classifyConnectionFailure(error)).toBe(kind);
  });

  it('take a Redis Cluster as a comma-separated node list with REDIS_CLUSTER=true, and refuse a list without it', () => {
    const nodes = 'redis://a:7000, redis://b:7001,redis://c:7002';
    const config = loadConfig(schema, { ...base, REDIS_URL: nodes, REDIS_CLUSTER: 'true' });
    expect(config.REDIS_CLUSTER).toBe(true);
    expect(redisUrls(config.REDIS_URL)).toEqual(['redis://a:7000', 'redis://b:7001', 'redis://c:7002']);
    expect(problemsOf({ REDIS_URL: nodes }).join('\n')).toContain('REDIS_URL: names 3 Redis servers: set REDIS_CLUSTER=true');
    expect(problemsOf({ REDIS_URL: 'redis://a:7000,rediss://b:7001', REDIS_CLUSTER: 'true' }).join('\n')).toContain('mixes redis:// and rediss://');
    expect(problemsOf({ REDIS_URL: 'redis://a:7000,b:7001', REDIS_CLUSTER: 'true' }).map((p) => p.split(':')[0])).toEqual(['REDIS_URL']);
    expect(problemsOf({ REDIS_CLUSTER: 'yes' }).map((p) => p.split(':')[0])).toEqual(['REDIS_CLUSTER']);
    expect(loadConfig(schema, { ...base }).REDIS_CLUSTER).toBe(false);
  });

  it('open ioredis\'s Cluster client on the listed nodes, connecting lazily when asked', async () => {
    const client = createRedis({ REDIS_URL: 'redis://127.0.0.1:1,redis://127.0.0.1:2', REDIS_CLUSTER: true }, { lazyConnect: true, maxRetriesPerRequest: 1 });
    expect(client).toBeInstanceOf(Cluster);
    const cluster = client as Cluster;
    expect(cluster.status).toBe('wait');
    expect((cluster as unknown as { startupNodes: unknown }).startupNodes).toEqual([
      { host: '127.0.0.1', port: 1 },
      { host: '127.0.0.1', port: 2 },
    ]);
    expect(cluster.options.redisOptions).toMatchObject({ maxRetriesPerRequest: 1 });
    cluster.disconnect();
  });
});
