import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { makeTestCertificates, type TestCertificates } from './certificates';
import { startKafka, type KafkaHandle } from './kafka';
import { freePort } from './ports';
import type { Progress } from './progress';
import { startRedis, type RedisHandle } from './redis';
import { startSchemaRegistry, type RegistryHandle } from './registry';

/** Who may log in where on a secured stack; passwords are random per stack. */
export interface SecuredUsers {
  kafka: { scram256: Login; scram512: Login; plain: Login };
  redis: Login;
  registry: Login;
}

export interface Login {
  name: string;
  password: string;
}

/** Kafka, Redis and the registry as a real cluster runs them: TLS everywhere, every client authenticated. */
export interface SecuredStack {
  dir: string;
  certificates: TestCertificates;
  kafka: KafkaHandle & { saslSslBootstrap: string; sslBootstrap: string };
  redis: RedisHandle;
  registry: RegistryHandle;
  users: SecuredUsers;
  /**
   * What every Waybill process needs to join this stack (README "Connecting to your own
   * cluster"): SASL_SSL with SCRAM-SHA-512, rediss:// with an ACL user, the registry over https
   * with basic auth, each trusting the stack's CA.
   */
  clientEnv: Record<string, string>;
  stop(): Promise<void>;
}

const secret = () => randomBytes(12).toString('hex');

/**
 * Starts a broker with SASL_SSL (PLAIN, SCRAM-SHA-256/512) and SSL-with-client-certificate
 * listeners beside PLAINTEXT, Redis on a TLS-only port with ACL users (default user off), and
 * our registry over https with basic auth, reading its topic over SASL_SSL. Certificates are
 * made with openssl in `dir`, SCRAM users by `kafka-storage format --add-scram`.
 */
export async function startSecuredStack(options: { dir: string; heapMb?: number }, progress: Progress): Promise<SecuredStack> {
  const certificates = await makeTestCertificates(join(options.dir, 'certs'));
  const users: SecuredUsers = {
    kafka: { scram256: { name: 'waybill-256', password: secret() }, scram512: { name: 'waybill', password: secret() }, plain: { name: 'waybill-plain', password: secret() } },
    redis: { name: 'waybill', password: secret() },
    registry: { name: 'waybill', password: secret() },
  };
  const [brokerPort, controllerPort, saslSslPort, sslPort, redisPort, registryPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
  const stopped: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const step of stopped.reverse()) await step().catch(() => undefined);
  };
  try {
    const kafka = await startKafka(
      {
        dataDir: join(options.dir, 'kafka'),
        brokerPort,
        controllerPort,
        heapMb: options.heapMb ?? 512,
        secured: {
          saslSslPort,
          sslPort,
          certificates,
          scramUsers: [
            { mechanism: 'SCRAM-SHA-256', ...users.kafka.scram256 },
            { mechanism: 'SCRAM-SHA-512', ...users.kafka.scram512 },
          ],
          plainUsers: [users.kafka.plain],
        },
      },
      progress,
    );
    stopped.push(() => kafka.stop());
    const redis = await startRedis({ dataDir: join(options.dir, 'redis'), port: redisPort, secured: { certificates, users: [users.redis] } }, progress);
    stopped.push(() => redis.stop());
    const kafkaEnv = {
      KAFKA_BROKERS: `127.0.0.1:${saslSslPort}`,
      KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: users.kafka.scram512.name,
      KAFKA_SASL_PASSWORD: users.kafka.scram512.password,
      KAFKA_SSL_CA_LOCATION: certificates.caFile,
    };
    const registry = await startSchemaRegistry(
      { port: registryPort, brokers: [kafkaEnv.KAFKA_BROKERS], logsDir: join(options.dir, 'logs'), secured: { certificates, user: users.registry, kafkaEnv } },
      progress,
    );
    stopped.push(() => registry.stop());
    return {
      dir: options.dir,
      certificates,
      kafka: { ...kafka, saslSslBootstrap: `127.0.0.1:${saslSslPort}`, sslBootstrap: `127.0.0.1:${sslPort}` },
      redis,
      registry,
      users,
      clientEnv: {
        ...kafkaEnv,
        REDIS_URL: redis.url,
        REDIS_USERNAME: users.redis.name,
        REDIS_PASSWORD: users.redis.password,
        REDIS_TLS_CA_LOCATION: certificates.caFile,
        SCHEMA_REGISTRY_URL: registry.url,
        SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO: `${users.registry.name}:${users.registry.password}`,
        SCHEMA_REGISTRY_SSL_CA_LOCATION: certificates.caFile,
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
