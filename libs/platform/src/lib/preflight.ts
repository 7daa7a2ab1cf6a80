import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Kafka, logLevel } from 'kafkajs';
import Redis from 'ioredis';
import { WaybillError } from '@waybill/util';
import { kafkaSecurity, redisOptions, redisUrls, registryClientOptions, type ConnectionConfig } from './connections';

/**
 * A dependency answered, and its answer means retrying cannot help: credentials refused, a
 * certificate not trusted, a port that speaks another protocol. The app stops at start with this
 * one line (exit 2) instead of retrying for minutes. The message names the service, the address
 * and the variables to look at, never a secret.
 */
export class ConnectionRefusedError extends WaybillError {
  readonly code = 'CONNECTION_REFUSED';
}

/** Node's codes for a certificate chain or name it will not accept. */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
]);

/** OpenSSL's codes for a TLS client meeting a server that does not speak TLS. */
const NOT_TLS = /WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|UNKNOWN_PROTOCOL|HTTP_REQUEST|RECORD_LAYER_FAILURE|disconnected before secure TLS connection was established/i;

/** TLS alerts a server sends when it wants a client certificate it did not get, or does not trust the one it got. */
const CLIENT_CERTIFICATE = /ALERT_BAD_CERTIFICATE|ALERT_CERTIFICATE_UNKNOWN|ALERT_CERTIFICATE_REQUIRED|ALERT_UNKNOWN_CA|ALERT_HANDSHAKE_FAILURE/i;

/** Kafka's ILLEGAL_SASL_STATE (34): a SASL client on a listener without SASL. */
const SASL_STATE = /not valid given the current SASL state/i;

interface ErrorLike {
  name?: string;
  code?: string;
  message?: string;
  cause?: unknown;
  originalError?: unknown;
}

function chain(error: unknown): ErrorLike[] {
  const out: ErrorLike[] = [];
  let current: unknown = error;
  while (current && typeof current === 'object' && out.length < 8) {
    const e = current as ErrorLike;
    out.push(e);
    current = e.cause ?? e.originalError;
  }
  return out;
}

const codeIn = (errors: ErrorLike[], test: (code: string) => boolean) => errors.map((e) => e.code ?? '').find((c) => c && test(c));
const textOf = (errors: ErrorLike[]) => errors.map((e) => `${e.name ?? ''} ${e.code ?? ''} ${e.message ?? ''}`).join(' | ');

/**
 * Why a failure is final, if it is: 'untrusted' (the server's certificate), 'client-certificate'
 * (the server refused ours, or wanted one), 'not-tls' (TLS client, plaintext server), 'closed'
 * (the server hung up before answering, or refused SASL: a port met with the wrong protocol),
 * 'auth', or undefined for everything retrying may fix (refused, timed out, still starting).
 */
export type ConnectionFailure = 'untrusted' | 'client-certificate' | 'not-tls' | 'closed' | 'auth';

export function classifyConnectionFailure(error: unknown): ConnectionFailure | undefined {
  const errors = chain(error);
  const untrusted = codeIn(errors, (c) => UNTRUSTED.has(c));
  if (untrusted) return 'untrusted';
  const text = textOf(errors);
  if (CLIENT_CERTIFICATE.test(text)) return 'client-certificate';
  if (codeIn(errors, (c) => NOT_TLS.test(c)) || NOT_TLS.test(text)) return 'not-tls';
  if (SASL_STATE.test(text)) return 'closed';
  if (errors.some((e) => e.name === 'KafkaJSSASLAuthenticationError') || /WRONGPASS|NOAUTH|NOPERM|invalid username-password|Authentication failed/i.test(text)) return 'auth';
  if (errors.some((e) => e.name === 'KafkaJSConnectionClosedError') || /Connection is closed|socket hang up|Closed connection/i.test(text)) return 'closed';
  return undefined;
}

function certificateLine(errors: ErrorLike[]): string {
  const code = codeIn(errors, (c) => UNTRUSTED.has(c)) ?? '';
  return code ? ` (${code})` : '';
}

function refusal(service: string, address: string, kind: ConnectionFailure, hint: Record<ConnectionFailure, string>, error: unknown): ConnectionRefusedError {
  const errors = chain(error);
  const what = {
    untrusted: `does not present a certificate this process trusts${certificateLine(errors)}`,
    'client-certificate': 'refused the TLS handshake: it wants a client certificate it trusts',
    'not-tls': 'does not speak TLS there',
    closed: 'closed the connection before answering',
    auth: 'refused the credentials',
  }[kind];
  return new ConnectionRefusedError(`cannot start: ${service} at ${address} ${what}; ${hint[kind]}`, { service }, { cause: error });
}

const BRIEF_TIMEOUT_MS = 5_000;

/** One connection to Kafka with the configured security, no retries. Throws `ConnectionRefusedError` when it is final. */
export async function checkKafka(config: Pick<ConnectionConfig, 'KAFKA_BROKERS'> & Partial<ConnectionConfig>): Promise<void> {
  const protocol = config.KAFKA_SECURITY_PROTOCOL ?? 'PLAINTEXT';
  const kafka = new Kafka({
    clientId: 'waybill-preflight',
    brokers: config.KAFKA_BROKERS,
    ...kafkaSecurity(config),
    logLevel: logLevel.NOTHING,
    connectionTimeout: BRIEF_TIMEOUT_MS,
    authenticationTimeout: BRIEF_TIMEOUT_MS,
    retry: { retries: 0 },
  });
  const admin = kafka.admin({ retry: { retries: 0 } });
  try {
    await admin.connect();
    await admin.describeCluster();
  } catch (error) {
    const kind = classifyConnectionFailure(error);
    if (kind === undefined) return;
    const user = config.KAFKA_SASL_USERNAME ? ` as ${config.KAFKA_SASL_USERNAME}` : '';
    throw refusal('Kafka', config.KAFKA_BROKERS.join(','), kind, {
      auth: `check KAFKA_SASL_MECHANISM (${config.KAFKA_SASL_MECHANISM ?? 'unset'}), KAFKA_SASL_USERNAME${user && ` (${config.KAFKA_SASL_USERNAME})`} and KAFKA_SASL_PASSWORD`,
      untrusted: 'check KAFKA_SSL_CA_LOCATION (the CA that signed the brokers\' certificates) and that the certificate names this host',
      'client-certificate': 'check KAFKA_SSL_CERTIFICATE_LOCATION and KAFKA_SSL_KEY_LOCATION (a certificate signed by a CA the brokers trust)',
      'not-tls': `KAFKA_SECURITY_PROTOCOL=${protocol} expects TLS; is this a PLAINTEXT or SASL_PLAINTEXT listener?`,
      closed: `KAFKA_SECURITY_PROTOCOL=${protocol}; does this listener expect TLS (SSL, SASL_SSL) or SASL?`,
    }, error);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** One connection to each Redis `REDIS_URL` names (one, or a cluster's startup nodes) with the configured credentials and TLS, and a PING. */
export async function checkRedis(config: Pick<ConnectionConfig, 'REDIS_URL'> & Partial<ConnectionConfig>): Promise<void> {
  for (const url of redisUrls(config.REDIS_URL)) await checkOneRedis(url, config);
}

async function checkOneRedis(url: string, config: Partial<ConnectionConfig>): Promise<void> {
  const redis = new Redis(url, redisOptions(config, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false, connectTimeout: BRIEF_TIMEOUT_MS }));
  let failure: unknown;
  redis.on('error', (err: unknown) => (failure ??= err));
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    const kind = classifyConnectionFailure(failure ?? error) ?? classifyConnectionFailure(error);
    if (kind === undefined) return;
    throw refusal('Redis', redactedUrl(url), kind, {
      auth: `check REDIS_USERNAME${config.REDIS_USERNAME ? ` (${config.REDIS_USERNAME})` : ''} and REDIS_PASSWORD`,
      untrusted: 'check REDIS_TLS_CA_LOCATION and that the certificate names this host',
      'client-certificate': 'check REDIS_TLS_CERTIFICATE_LOCATION and REDIS_TLS_KEY_LOCATION',
      'not-tls': 'REDIS_URL is rediss:// (TLS); is this a plaintext port?',
      closed: 'is this a TLS port (use rediss://) or does it need REDIS_PASSWORD?',
    }, failure ?? error);
  } finally {
    redis.disconnect();
  }
}

/** One `GET /subjects` with the configured basic auth and CA. */
export async function checkRegistry(config: Pick<ConnectionConfig, 'SCHEMA_REGISTRY_URL'> & Partial<ConnectionConfig>): Promise<void> {
  const url = new URL('/subjects', config.SCHEMA_REGISTRY_URL);
  const { auth, agent } = registryClientOptions(config);
  const headers: Record<string, string> = { accept: 'application/vnd.schemaregistry.v1+json' };
  if (auth) headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  const address = redactedUrl(config.SCHEMA_REGISTRY_URL);
  const status = await new Promise<number | Error>((resolve) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, { method: 'GET', headers, agent: url.protocol === 'https:' ? agent : undefined, timeout: BRIEF_TIMEOUT_MS }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', resolve);
    req.end();
  });
  agent?.destroy();
  if (status instanceof Error) {
    const kind = classifyConnectionFailure(status);
    if (kind === undefined) return;
    throw refusal('the schema registry', address, kind, {
      auth: 'check SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO',
      untrusted: 'check SCHEMA_REGISTRY_SSL_CA_LOCATION and that the certificate names this host',
      'client-certificate': 'check SCHEMA_REGISTRY_SSL_CERTIFICATE_LOCATION and SCHEMA_REGISTRY_SSL_KEY_LOCATION',
      'not-tls': 'SCHEMA_REGISTRY_URL is https://; is this a plain http port?',
      closed: 'is this an https port (use https://)?',
    }, status);
  }
  if (status === 401 || status === 403) {
    throw new ConnectionRefusedError(
      `cannot start: the schema registry at ${address} answered ${status} to ${auth ? `user ${auth.username}` : 'a request without credentials'}; check SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO`,
      { service: 'schema registry' },
    );
  }
}

/** A URL as it may be printed: without user info. */
export function redactedUrl(text: string): string {
  try {
    const url = new URL(text);
    url.username = '';
    url.password = '';
    return url.toString().replace(/\/$/, '');
  } catch {
    return '(unparseable URL)';
  }
}

/**
 * Before an app connects for real: one attempt at each service it uses. A final refusal throws
 * `ConnectionRefusedError`; a service that is merely not up yet passes, and the app's own
 * retries wait for it as before.
 */
export async function preflight(config: Partial<ConnectionConfig>, uses: { kafka?: boolean; redis?: boolean; registry?: boolean } = {}): Promise<void> {
  const checks: Array<Promise<void>> = [];
  if (uses.kafka !== false && config.KAFKA_BROKERS) checks.push(checkKafka({ ...config, KAFKA_BROKERS: config.KAFKA_BROKERS }));
  if (uses.redis !== false && config.REDIS_URL) checks.push(checkRedis({ ...config, REDIS_URL: config.REDIS_URL }));
  if (uses.registry !== false && config.SCHEMA_REGISTRY_URL) checks.push(checkRegistry({ ...config, SCHEMA_REGISTRY_URL: config.SCHEMA_REGISTRY_URL }));
  const results = await Promise.allSettled(checks);
  const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (refused) throw refused.reason;
}
