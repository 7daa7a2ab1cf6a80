import { execFile, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import { redisOptions } from '@waybill/platform';
import type { TestCertificates } from './certificates';
import { ChildService, waitUntil } from './child-service';
import { MissingDependencyError, ServiceStartError } from './errors';
import { freePort } from './ports';
import type { Progress } from './progress';

const run = promisify(execFile);

async function onPath(binary: string): Promise<boolean> {
  return run('sh', ['-c', `command -v ${binary}`]).then(
    () => true,
    () => false,
  );
}

const HOW_TO_INSTALL =
  'redis-server is not installed. Install it with your package manager (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis), or point REDIS_URL at a running Redis.';

/** Finds redis-server, installing Debian's package through apt when we are root and apt exists. */
export async function ensureRedisServer(progress: Progress): Promise<void> {
  if (await onPath('redis-server')) return;
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || !(await onPath('apt-get'))) throw new MissingDependencyError(HOW_TO_INSTALL);
  progress.step('installing redis-server from Debian packages (apt-get)');
  const apt = (args: string[]) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn('apt-get', args, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, stdio: ['ignore', 'pipe', 'pipe'] });
      const onData = (chunk: Buffer) => {
        const line = chunk.toString().trim().split('\n').pop();
        if (line) progress.update(line.slice(0, 100));
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new MissingDependencyError(`apt-get ${args.join(' ')} exited with ${code}. ${HOW_TO_INSTALL}`))));
    });
  await apt(['update', '-qq']);
  await apt(['install', '-y', '-qq', 'redis-server']);
  progress.done('redis-server installed');
}

export interface RedisHandle {
  url: string;
  /** With `secured`: the user every client logs in as (its password is the caller's). */
  username?: string;
  service?: ChildService;
  stop(): Promise<void>;
}

export interface SecuredRedisOptions {
  certificates: TestCertificates;
  /** ACL users (`ACL SETUSER name on >password ~* &* +@all`); the default user is switched off. */
  users: ReadonlyArray<{ name: string; password: string }>;
}

/**
 * Starts a private redis-server with AOF on and its data under `dataDir`. With `secured`, the
 * port speaks only TLS (`tls-port`, plaintext `port 0`, client certificates optional) and only
 * the given ACL users may log in.
 */
export async function startRedis(options: { dataDir: string; port: number; secured?: SecuredRedisOptions }, progress: Progress): Promise<RedisHandle> {
  await ensureRedisServer(progress);
  progress.step(`starting Redis on 127.0.0.1:${options.port}${options.secured ? ' (TLS, ACL users)' : ''}`);
  const secured = options.secured;
  const securedArgs = secured
    ? [
        '--tls-port', String(options.port),
        '--tls-cert-file', secured.certificates.serverCertFile,
        '--tls-key-file', secured.certificates.serverKeyFile,
        '--tls-ca-cert-file', secured.certificates.caFile,
        '--tls-auth-clients', 'optional',
        '--user', 'default', 'off',
        ...secured.users.flatMap((u) => ['--user', u.name, 'on', `>${u.password}`, '~*', '&*', '+@all']),
      ]
    : [];
  const service = spawnRedisServer('redis', options.dataDir, [...(secured ? ['--port', '0'] : ['--port', String(options.port)]), ...securedArgs]);
  const url = `${secured ? 'rediss' : 'redis'}://127.0.0.1:${options.port}`;
  const login = secured ? { REDIS_URL: url, REDIS_USERNAME: secured.users[0]?.name, REDIS_PASSWORD: secured.users[0]?.password, REDIS_TLS_CA_LOCATION: secured.certificates.caFile } : { REDIS_URL: url };
  try {
    await waitForPong('Redis', url, login, service);
  } catch (err) {
    await service.stop(2_000);
    throw new ServiceStartError((err as Error).message);
  }
  progress.done(`Redis ready on ${url} (data in ${options.dataDir})`);
  return { url, username: secured?.users[0]?.name, service, stop: () => service.stop(10_000) };
}

/** One redis-server child with AOF on, its data and log under `dataDir`; `args` add to (or override) the defaults. */
function spawnRedisServer(name: string, dataDir: string, args: string[]): ChildService {
  mkdirSync(dataDir, { recursive: true });
  return ChildService.spawn(
    name,
    'redis-server',
    [
      '--bind', '127.0.0.1',
      '--dir', dataDir,
      '--appendonly', 'yes',
      '--appendfsync', 'everysec',
      '--save', '',
      '--daemonize', 'no',
      '--protected-mode', 'yes',
      '--logfile', '',
      ...args,
    ],
    { logFile: join(dataDir, 'redis.log'), echo: /# (?!WARNING Memory overcommit)(WARNING|Error)/i },
  );
}

/** Until `url` answers PING (NOTE: while it replays the AOF, Redis answers LOADING: not ready yet). */
async function waitForPong(what: string, url: string, login: Parameters<typeof redisOptions>[0], service: ChildService): Promise<void> {
  await waitUntil(
    what,
    async () => {
      const client = new Redis(url, redisOptions(login, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null }));
      client.on('error', () => undefined); // refused connections are expected until it listens
      try {
        await client.connect();
        return (await client.ping()) === 'PONG';
      } finally {
        client.disconnect();
      }
    },
    { timeoutMs: 30_000, service },
  );
}

export interface RedisClusterHandle {
  /** Every master, `{ host, port }`: what ioredis's Cluster client takes as startup nodes. */
  nodes: Array<{ host: string; port: number }>;
  /** The same as `redis://host:port` URLs, comma-separated (REDIS_URL's form for a cluster). */
  urls: string;
  services: ChildService[];
  stop(): Promise<void>;
}

/**
 * A real Redis Cluster of `ports.length` masters (three or more) on this machine, no replicas:
 * one redis-server per port with `cluster-enabled yes` and its data under `dataDir/<port>`, the
 * 16,384 slots spread over them by `redis-cli --cluster create`. Ready when every node says
 * `cluster_state:ok`.
 */
export async function startRedisCluster(options: { dataDir: string; ports: readonly number[]; stableBusPorts?: boolean }, progress: Progress): Promise<RedisClusterHandle> {
  if (options.ports.length < 3) throw new ServiceStartError(`a Redis Cluster needs at least 3 masters, got ${options.ports.length} ports`);
  await ensureRedisServer(progress);
  progress.step(`starting a Redis Cluster of ${options.ports.length} masters on ${options.ports.join(', ')}`);
  const services: ChildService[] = [];
  const stop = async () => void (await Promise.allSettled(services.map((s) => s.stop(10_000))));
  try {
    for (const port of options.ports) {
      const dataDir = join(options.dataDir, String(port));
      // NOTE: the cluster bus defaults to port + 10000, past 65535 for a free port above 55535
      // (Linux hands out up to 60999), and maybe taken below it: each node gets a free bus port of
      // its own, unless `stableBusPorts` (fixed ports, a cluster started again on its data:
      // nodes.conf remembers every peer's bus port).
      const busPort = options.stableBusPorts ? port + 10_000 : await freePort();
      services.push(
        spawnRedisServer(`redis-${port}`, dataDir, ['--port', String(port), '--cluster-enabled', 'yes', '--cluster-port', String(busPort), '--cluster-config-file', join(dataDir, 'nodes.conf'), '--cluster-node-timeout', '5000']),
      );
    }
    await Promise.all(options.ports.map((port, i) => waitForPong(`Redis node ${port}`, `redis://127.0.0.1:${port}`, {}, services[i])));
    const nodes = options.ports.map((port) => ({ host: '127.0.0.1', port }));
    const ok = async () => (await Promise.all(nodes.map((n) => clusterInfo(n.port)))).every((info) => /cluster_state:ok/.test(info));
    // A second start on the same data finds the cluster already formed (nodes.conf).
    if (!(await ok())) {
      await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `${n.host}:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 60_000 });
      await waitUntil('Redis Cluster', ok, { timeoutMs: 30_000 });
    }
    progress.done(`Redis Cluster ready: ${nodes.map((n) => `${n.host}:${n.port}`).join(', ')} (data in ${options.dataDir})`);
    return { nodes, urls: nodes.map((n) => `redis://${n.host}:${n.port}`).join(','), services, stop };
  } catch (err) {
    await stop();
    throw err instanceof ServiceStartError ? err : new ServiceStartError(`Redis Cluster did not form: ${(err as Error).message}`);
  }
}

async function clusterInfo(port: number): Promise<string> {
  const client = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return String(await client.cluster('INFO'));
  } catch {
    return '';
  } finally {
    client.disconnect();
  }
}

/** A Redis we did not start (REDIS_URL given): check it answers, never stop it. */
export async function useExternalRedis(url: string): Promise<RedisHandle> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    throw new ServiceStartError(`REDIS_URL=${url} does not answer PING`, {}, { cause: err });
  } finally {
    client.disconnect();
  }
  return { url, stop: async () => undefined };
}
