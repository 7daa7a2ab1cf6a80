import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { topicSpecs } from '@waybill/contracts';
import { apiKeysSpec, discoverApps, silentProgress, startAppProcess, startSecuredStack, type RunningApp, type SecuredStack } from '@waybill/devstack';
import { checkKafka, createRedis, createTopicsAndAwaitLeaders, kafkaSecurity } from '@waybill/platform';
import { call, key, newShipment, root } from '../support/pipeline';

// The whole pipeline on a stack secured as a real cluster is: Kafka over SASL_SSL (SCRAM-SHA-512)
// with certificates made by this test, Redis on a TLS-only port with an ACL user, our registry over
// https with basic auth. Then every way a secured deployment goes wrong at start: each must stop the
// app at once with one line and exit 2, never a retry loop.

type App = RunningApp & { port: number };

describe('on a secured stack (SASL_SSL, Redis TLS + ACL, registry https + basic auth)', () => {
  let stack: SecuredStack;
  let logsDir: string;
  let appEnv: Record<string, string>;
  let handler: App;
  let ledger: App;
  const apps: App[] = [];
  const prefix = `sec${Date.now().toString(36)}.`;

  const secrets = () => [stack.users.kafka.scram512.password, stack.users.redis.password, stack.users.registry.password, stack.users.kafka.scram256.password, stack.users.kafka.plain.password];

  beforeAll(async () => {
    stack = await startSecuredStack({ dir: mkdtempSync(join(tmpdir(), 'waybill-secured-')) }, silentProgress);
    logsDir = join(stack.dir, 'app-logs');
    appEnv = { ...stack.clientEnv, API_KEYS: apiKeysSpec(), TOPIC_PREFIX: prefix, LOG_LEVEL: 'debug' };
    // Topics are made over the secured listener too, as an operator on a real cluster would.
    const admin = new Kafka({ brokers: [stack.kafka.saslSslBootstrap], clientId: 'secured-test', logLevel: logLevel.NOTHING, ...kafkaSecurity({ ...stack.clientEnv, KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512' }) }).admin();
    await admin.connect();
    await createTopicsAndAwaitLeaders(admin, topicSpecs({ prefix, partitions: 2 }).map((s) => ({ topic: s.topic, numPartitions: s.numPartitions, replicationFactor: 1 })));
    await admin.disconnect();
    const start = async (name: string, extra: Record<string, string> = {}) => {
      const app = await startAppProcess(name, { ...appEnv, ...extra }, { root, logsDir, readyTimeoutMs: 90_000 });
      apps.push(app);
      return app;
    };
    await start('shipment-reducer');
    handler = await start('shipment-handler', { OUTCOME_WAIT_MS: '15000' });
    ledger = await start('ledger', { SHIPMENT_HANDLER_URL: handler.url });
  }, 240_000);

  afterAll(async () => {
    await Promise.allSettled(apps.map((a) => a.service.stop(10_000)));
    await stack?.stop();
  });

  it('runs a shipment from HTTP through shipment-handler, shipment-reducer and the ledger', async () => {
    const id = `${prefix.slice(0, -1).toUpperCase()}-1`;
    const created = await call(handler, 'POST', '/shipments', { role: 'associate', body: newShipment(id) });
    expect(created.status).toBe(201);
    const released = await call(handler, 'POST', `/shipments/${id}/commands`, { role: 'team-lead', body: { type: 'ReleaseForPicking' } });
    expect([released.status, released.body.status, released.body.readToken]).toEqual([200, 'accepted', `${id}@2`]);
    const read = await call(ledger, 'GET', `/shipments/${id}?readToken=${encodeURIComponent(released.body.readToken)}`, { role: 'viewer' });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ shipmentId: id, status: 'PendingPicking', version: 2 });
    const events = await call(ledger, 'GET', `/shipments/${id}/events`, { role: 'viewer' });
    expect(events.body.items.map((e: { type: string }) => e.type)).toEqual(['ShipmentCreated', 'ReleasedForPicking']);

    // What the apps wrote is really there, in the secured Redis, under the ACL user.
    const redis = createRedis({ ...stack.clientEnv, REDIS_URL: stack.clientEnv.REDIS_URL }, { maxRetriesPerRequest: 1 });
    try {
      expect(await redis.acl('WHOAMI')).toBe(stack.users.redis.name);
      expect((await redis.keys(`*${prefix}*`)).length).toBeGreaterThan(0);
    } finally {
      await redis.quit();
    }
  });

  it('lets the operator CLI (waybill verify ledger) read Kafka, Redis and the registry with the same variables', async () => {
    const verify = () =>
      spawnSync(process.execPath, [join(root, 'tools', 'cli', 'dist', 'main.js'), 'verify', 'ledger'], {
        env: { ...process.env, ...stack.clientEnv, TOPIC_PREFIX: prefix },
        encoding: 'utf8',
        timeout: 60_000,
      });
    // The ledger projects a little behind the writers: identical once it has caught up.
    let cli = verify();
    for (let attempt = 0; attempt < 10 && cli.status === 1 && /differs/.test(cli.stderr); attempt++) {
      await new Promise((r) => setTimeout(r, 1_000));
      cli = verify();
    }
    expect([cli.status, cli.stdout]).toEqual([0, expect.stringMatching(/identical: every key matches the replay/)]);
    // stderr carries its progress lines only.
    expect(cli.stderr).toMatch(/verify ledger: 100% \d+ records/);
    for (const secret of secrets()) expect(cli.stdout + cli.stderr).not.toContain(secret);
  });

  it('never shows a secret: not in any log line, /metrics, an error body, the admin page or its JSON', async () => {
    const bodies: string[] = [];
    for (const app of [handler, ledger]) {
      bodies.push(await (await fetch(`${app.url}/metrics`, { headers: { 'x-api-key': key('viewer') } })).text());
      bodies.push(JSON.stringify((await call(app, 'GET', '/openapi.json', { role: 'viewer' })).body));
      bodies.push(JSON.stringify((await call(app, 'GET', '/no-such-route', { role: 'viewer' })).body));
      bodies.push(JSON.stringify((await call(app, 'GET', '/readyz')).body));
    }
    const bad = await call(handler, 'POST', '/shipments', { role: 'associate', body: { shipmentId: 7 } });
    expect(bad.status).toBe(400);
    bodies.push(JSON.stringify(bad.body));
    bodies.push(await (await fetch(`${ledger.url}/admin/`)).text());
    bodies.push(JSON.stringify((await call(ledger, 'GET', '/admin/config.json', { role: 'viewer' })).body));
    bodies.push(JSON.stringify((await call(ledger, 'GET', '/admin/api/ops', { role: 'viewer' })).body));
    const logs = readdirSync(logsDir).map((f) => readFileSync(join(logsDir, f), 'utf8'));
    // The logs are real: every app's, at debug, from start (partitions assigned, listening) on.
    expect(logs).toHaveLength(3);
    for (const log of logs) expect(log).toMatch(/"msg":"[a-z-]+ (listening|running)"/);
    for (const secret of secrets()) {
      for (const text of [...bodies, ...logs]) expect(text.includes(secret) ? `found ${secret.slice(0, 3)}…` : 'absent').toBe('absent');
    }
  });

  it('reaches Kafka with SCRAM-SHA-256 and PLAIN too, and over the SSL listener with a client certificate (refused without one)', async () => {
    const sasl = (mechanism: string, user: { name: string; password: string }) => ({ ...stack.clientEnv, KAFKA_BROKERS: [stack.kafka.saslSslBootstrap], KAFKA_SECURITY_PROTOCOL: 'SASL_SSL' as const, KAFKA_SASL_MECHANISM: mechanism as 'PLAIN', KAFKA_SASL_USERNAME: user.name, KAFKA_SASL_PASSWORD: user.password });
    for (const config of [sasl('SCRAM-SHA-256', stack.users.kafka.scram256), sasl('PLAIN', stack.users.kafka.plain)]) {
      const admin = new Kafka({ brokers: config.KAFKA_BROKERS, logLevel: logLevel.NOTHING, ...kafkaSecurity(config) }).admin();
      await admin.connect();
      expect((await admin.listTopics()).some((t) => t.startsWith(prefix))).toBe(true);
      await admin.disconnect();
    }
    const mtls = { KAFKA_BROKERS: [stack.kafka.sslBootstrap], KAFKA_SECURITY_PROTOCOL: 'SSL' as const, KAFKA_SSL_CA_LOCATION: stack.certificates.caFile };
    const withCert = { ...mtls, KAFKA_SSL_CERTIFICATE_LOCATION: stack.certificates.clientCertFile, KAFKA_SSL_KEY_LOCATION: stack.certificates.clientKeyFile };
    const admin = new Kafka({ brokers: withCert.KAFKA_BROKERS, logLevel: logLevel.NOTHING, ...kafkaSecurity(withCert) }).admin();
    await admin.connect();
    expect((await admin.describeCluster()).brokers).toHaveLength(1);
    await admin.disconnect();
    await expect(checkKafka(mtls)).rejects.toThrow(/refused the TLS handshake: it wants a client certificate.*KAFKA_SSL_CERTIFICATE_LOCATION/);
  });

  /** Starts shipment-handler with `change` over the good environment; resolves with how it ended. */
  function startRefused(change: Record<string, string | undefined>): Promise<{ code: number | null; stderr: string; ms: number }> {
    const app = discoverApps(root).find((a) => a.name === 'shipment-handler');
    if (!app) throw new Error('shipment-handler not found');
    const env: Record<string, string> = { ...(process.env as Record<string, string>), ...appEnv, PORT: '0' };
    for (const [name, value] of Object.entries(change)) {
      if (value === undefined) delete env[name];
      else env[name] = value;
    }
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [app.entry], { cwd: app.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.stdout.resume();
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`still running after 30 s (a retry loop?): ${stderr}`));
      }, 30_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stderr, ms: Date.now() - started });
      });
    });
  }

  const plainRedisUrl = () => stack.clientEnv.REDIS_URL.replace('rediss://', 'redis://');
  const httpRegistryUrl = () => stack.clientEnv.SCHEMA_REGISTRY_URL.replace('https://', 'http://');

  it.each<[string, () => Record<string, string | undefined>, RegExp]>([
    ['a wrong Kafka password', () => ({ KAFKA_SASL_PASSWORD: 'not-the-password' }), /Kafka at .* refused the credentials; check KAFKA_SASL_MECHANISM \(SCRAM-SHA-512\), KAFKA_SASL_USERNAME \(waybill\)/],
    ['a wrong Kafka SASL mechanism for the user', () => ({ KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256' }), /Kafka at .* refused the credentials/],
    ['an untrusted Kafka certificate (wrong CA)', () => ({ KAFKA_SSL_CA_LOCATION: stack.certificates.otherCaFile }), /Kafka at .* does not present a certificate this process trusts \(SELF_SIGNED_CERT_IN_CHAIN\); check KAFKA_SSL_CA_LOCATION/],
    ['plaintext to the SASL_SSL port', () => ({ KAFKA_SECURITY_PROTOCOL: 'PLAINTEXT', KAFKA_SASL_MECHANISM: undefined, KAFKA_SASL_USERNAME: undefined, KAFKA_SASL_PASSWORD: undefined, KAFKA_SSL_CA_LOCATION: undefined }), /Kafka at .* closed the connection before answering; KAFKA_SECURITY_PROTOCOL=PLAINTEXT/],
    ['TLS to the plaintext Kafka port', () => ({ KAFKA_BROKERS: stack.kafka.bootstrap }), /Kafka at .* does not speak TLS there/],
    ['a wrong Redis password', () => ({ REDIS_PASSWORD: 'not-the-password' }), /Redis at rediss:\/\/127\.0\.0\.1:\d+ refused the credentials; check REDIS_USERNAME \(waybill\) and REDIS_PASSWORD/],
    ['no Redis credentials', () => ({ REDIS_USERNAME: undefined, REDIS_PASSWORD: undefined }), /Redis at .* refused the credentials/],
    ['an untrusted Redis certificate (wrong CA)', () => ({ REDIS_TLS_CA_LOCATION: stack.certificates.otherCaFile }), /Redis at .* does not present a certificate this process trusts/],
    ['plaintext to the Redis TLS port', () => ({ REDIS_URL: plainRedisUrl(), REDIS_TLS_CA_LOCATION: undefined }), /Redis at redis:\/\/.* closed the connection before answering; is this a TLS port/],
    ['a wrong registry password', () => ({ SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO: 'waybill:not-the-password' }), /schema registry at https:\/\/.* answered 401 to user waybill; check SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO/],
    ['no registry credentials', () => ({ SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO: undefined }), /schema registry at .* answered 401 to a request without credentials/],
    ['an untrusted registry certificate (wrong CA)', () => ({ SCHEMA_REGISTRY_SSL_CA_LOCATION: stack.certificates.otherCaFile }), /schema registry at .* does not present a certificate this process trusts/],
    ['plain http to the registry https port', () => ({ SCHEMA_REGISTRY_URL: httpRegistryUrl(), SCHEMA_REGISTRY_SSL_CA_LOCATION: undefined }), /schema registry at http:\/\/.* closed the connection before answering/],
  ])('stops at start with one line and exit 2 on %s', async (_what, change, line) => {
    const { code, stderr, ms } = await startRefused(change());
    expect(code).toBe(2);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^shipment-handler: cannot start: /);
    expect(lines[0]).toMatch(line);
    for (const secret of [...secrets(), 'not-the-password']) expect(stderr).not.toContain(secret);
    expect(ms).toBeLessThan(15_000);
  });

  it('names a half-secured environment as a configuration error (exit 2), before connecting', async () => {
    const { code, stderr } = await startRefused({ KAFKA_SASL_MECHANISM: undefined, REDIS_URL: plainRedisUrl() });
    expect(code).toBe(2);
    expect(stderr).toContain('KAFKA_SASL_MECHANISM: is required with KAFKA_SECURITY_PROTOCOL=SASL_SSL');
    expect(stderr).toContain('REDIS_TLS_CA_LOCATION: is only used with a rediss:// REDIS_URL');
    expect(stderr).not.toContain(stack.users.kafka.scram512.password);
  });
});
