import { execFile, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import { redisOptions } from '@waybill/platform';
import type { TestCertificates } from './certificates';
import { ChildService, waitUntil } from './child-service';
import { MissingDependencyError, ServiceStartError } from './errors';
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
  mkdirSync(options.dataDir, { recursive: true });
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
  const service = ChildService.spawn(
    'redis',
    'redis-server',
    [
      '--port', secured ? '0' : String(options.port),
      '--bind', '127.0.0.1',
      '--dir', options.dataDir,
      '--appendonly', 'yes',
      '--appendfsync', 'everysec',
      '--save', '',
      '--daemonize', 'no',
      '--protected-mode', 'yes',
      '--logfile', '',
      ...securedArgs,
    ],
    { logFile: join(options.dataDir, 'redis.log'), echo: /# (?!WARNING Memory overcommit)(WARNING|Error)/i },
  );
  const url = `${secured ? 'rediss' : 'redis'}://127.0.0.1:${options.port}`;
  const login = secured ? { REDIS_URL: url, REDIS_USERNAME: secured.users[0]?.name, REDIS_PASSWORD: secured.users[0]?.password, REDIS_TLS_CA_LOCATION: secured.certificates.caFile } : { REDIS_URL: url };
  try {
    await waitUntil(
      'Redis',
      async () => {
        const client = new Redis(url, redisOptions(login, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null }));
        client.on('error', () => undefined); // refused connections are expected until it listens
        try {
          await client.connect();
          // NOTE: while it replays the AOF, Redis answers PING with LOADING: not ready yet.
          return (await client.ping()) === 'PONG';
        } finally {
          client.disconnect();
        }
      },
      { timeoutMs: 30_000, service },
    );
  } catch (err) {
    await service.stop(2_000);
    throw new ServiceStartError((err as Error).message);
  }
  progress.done(`Redis ready on ${url} (data in ${options.dataDir})`);
  return { url, username: secured?.users[0]?.name, service, stop: () => service.stop(10_000) };
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
