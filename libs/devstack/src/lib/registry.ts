import { createHash } from 'node:crypto';
import { request } from 'node:https';
import { join } from 'node:path';
import { registryClientOptions } from '@waybill/platform';
import type { TestCertificates } from './certificates';
import { ChildService, waitUntil } from './child-service';
import { ServiceStartError } from './errors';
import type { Progress } from './progress';
import { workspaceRoot } from './workspace';

export interface RegistryHandle {
  url: string;
  /** With `secured`: what a client sets as SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO. */
  userInfo?: string;
  service: ChildService;
  stop(): Promise<void>;
}

/**
 * Starts our Confluent-compatible schema registry (libs/registry) as a child process. It keeps
 * its state in the `_schemas` topic, so it is ready only once it has read that topic to its end:
 * until then `GET /subjects` does not answer 200.
 */
export interface SecuredRegistryOptions {
  certificates: TestCertificates;
  /** The one basic-auth user (the registry stores only the SHA-256 of the password). */
  user: { name: string; password: string };
  /** How the registry reaches a secured Kafka: KAFKA_SECURITY_PROTOCOL and friends. */
  kafkaEnv?: Record<string, string>;
}

/** A GET over https trusting the test CA, with basic auth: the readiness probe of a secured registry. */
function securedStatus(url: string, secured: SecuredRegistryOptions): Promise<number> {
  const { agent, auth } = registryClientOptions({ SCHEMA_REGISTRY_URL: url, SCHEMA_REGISTRY_SSL_CA_LOCATION: secured.certificates.caFile, SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO: `${secured.user.name}:${secured.user.password}` });
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, timeout: 2000, headers: { authorization: `Basic ${Buffer.from(`${auth?.username}:${auth?.password}`).toString('base64')}` } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  }).finally(() => agent?.destroy()) as Promise<number>;
}

export async function startSchemaRegistry(
  options: { port: number; brokers: string[]; logsDir: string; topic?: string; secured?: SecuredRegistryOptions },
  progress: Progress,
): Promise<RegistryHandle> {
  const secured = options.secured;
  const securedEnv: Record<string, string> = secured
    ? {
        ...secured.kafkaEnv,
        REGISTRY_TLS_CERTIFICATE_LOCATION: secured.certificates.serverCertFile,
        REGISTRY_TLS_KEY_LOCATION: secured.certificates.serverKeyFile,
        REGISTRY_BASIC_AUTH_USERS: `${secured.user.name}:${createHash('sha256').update(secured.user.password).digest('hex')}`,
      }
    : {};
  const entry = join(workspaceRoot(), 'libs', 'registry', 'dist', 'main.js');
  progress.step(`starting the schema registry on port ${options.port}`);
  const service = ChildService.spawn('schema-registry', process.execPath, [entry], {
    env: {
      ...process.env,
      PORT: String(options.port),
      KAFKA_BROKERS: options.brokers.join(','),
      SCHEMAS_TOPIC: options.topic ?? '_schemas',
      LOG_LEVEL: process.env.REGISTRY_LOG_LEVEL ?? 'info',
      ...securedEnv,
    },
    logFile: join(options.logsDir, 'schema-registry.log'),
    echo: /"level":(50|60)/,
  });
  const url = `${secured ? 'https' : 'http'}://127.0.0.1:${options.port}`;
  try {
    await waitUntil(
      'schema registry',
      async () => (secured ? await securedStatus(`${url}/subjects`, secured) : (await fetch(`${url}/subjects`, { signal: AbortSignal.timeout(2000) })).status) === 200,
      { timeoutMs: 60_000, service },
    );
  } catch (err) {
    await service.stop(2_000);
    throw new ServiceStartError((err as Error).message);
  }
  progress.done(`schema registry ready at ${url}`);
  return { url, userInfo: secured ? `${secured.user.name}:${secured.user.password}` : undefined, service, stop: () => service.stop(10_000) };
}
