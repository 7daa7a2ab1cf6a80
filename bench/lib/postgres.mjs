// A private PostgreSQL for the Emmett peer: Debian's binaries, a cluster in a temp dir, a port of
// our own, stopped and deleted at the end. Installs Debian's `postgresql` package when the binaries
// are missing and we are root with apt-get (the same way libs/devstack installs redis-server).
import { execFile, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const isRoot = () => process.getuid?.() === 0;

/** The folder holding initdb/pg_ctl/postgres: $PG_BIN, Debian's /usr/lib/postgresql/<newest>/bin, or PATH. */
function findBinDir() {
  if (process.env.PG_BIN && existsSync(join(process.env.PG_BIN, 'pg_ctl'))) return process.env.PG_BIN;
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => existsSync(join(base, v, 'bin', 'pg_ctl')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length) return join(base, versions[0], 'bin');
  }
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'pg_ctl')) && existsSync(join(dir, 'initdb'))) return dir;
  }
  return undefined;
}

function apt(args, progress) {
  return new Promise((resolve, reject) => {
    const child = spawn('apt-get', args, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (chunk) => {
      const line = chunk.toString().trim().split('\n').pop();
      if (line) progress.update(line.slice(0, 100));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`apt-get ${args.join(' ')} exited with ${code}`))));
  });
}

/** initdb/pg_ctl's folder, installing Debian's postgresql package (as root) when they are missing. */
export async function ensurePostgres(progress) {
  let bin = findBinDir();
  if (bin) return bin;
  const hasApt = await run('sh', ['-c', 'command -v apt-get']).then(() => true, () => false);
  if (!isRoot() || !hasApt) {
    throw new Error('PostgreSQL is not installed: apt-get install -y postgresql (Debian/Ubuntu), or set PG_BIN to the folder holding initdb and pg_ctl');
  }
  progress.step('installing postgresql from Debian packages (apt-get)');
  await apt(['update', '-qq'], progress);
  await apt(['install', '-y', '-qq', 'postgresql'], progress);
  bin = findBinDir();
  if (!bin) throw new Error('apt-get install postgresql finished but no pg_ctl was found under /usr/lib/postgresql/*/bin');
  progress.done(`postgresql installed (${bin})`);
  return bin;
}

async function postgresUser() {
  try {
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    return { uid, gid };
  } catch {
    throw new Error("running as root but there is no postgres user (Debian's postgresql package creates it)");
  }
}

/**
 * Starts a throw-away cluster on `port` with its socket in its own folder and a `bench` database.
 * As root, PostgreSQL runs as the `postgres` user (it refuses to run as root).
 * `settings` are extra postgresql.conf lines, e.g. { synchronous_commit: 'off' }.
 */
export async function startPostgres({ port, settings = {} }, progress) {
  const bin = await ensurePostgres(progress);
  const dir = mkdtempSync(join(tmpdir(), 'waybill-bench-pg-'));
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'postgres.log');
  const asPostgres = (file, args) => (isRoot() ? ['runuser', ['-u', 'postgres', '--', join(bin, file), ...args]] : [join(bin, file), args]);
  const exec = async (file, args, opts = {}) => {
    const [cmd, argv] = asPostgres(file, args);
    return run(cmd, argv, { timeout: 120_000, ...opts });
  };
  // As root, the cluster's folder (data, socket, log) belongs to the postgres user.
  const owner = isRoot() ? await postgresUser() : undefined;
  if (owner) chownSync(dir, owner.uid, owner.gid);
  progress.step(`initdb in ${dataDir}`);
  await exec('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--locale=C']);
  const conf = Object.entries({ max_connections: '200', ...settings }).map(([k, v]) => `${k} = '${v}'`).join('\n');
  appendFileSync(join(dataDir, 'postgresql.conf'), `\n# waybill bench\n${conf}\n`);
  progress.step(`starting PostgreSQL on 127.0.0.1:${port}`);
  if (owner) {
    writeFileSync(logFile, '');
    chownSync(logFile, owner.uid, owner.gid);
  }
  try {
    await exec('pg_ctl', ['-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, 'start']);
    await exec('createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', 'bench']);
  } catch (err) {
    const log = existsSync(logFile) ? (await run('tail', ['-n', '30', logFile])).stdout : '';
    await exec('pg_ctl', ['-D', dataDir, '-m', 'immediate', 'stop']).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`PostgreSQL did not start: ${err.message}\n${log}`);
  }
  const { stdout: versionText } = await exec('postgres', ['--version']);
  const version = versionText.trim().replace(/^postgres \(PostgreSQL\)\s*/, '');
  progress.done(`PostgreSQL ${version} ready on 127.0.0.1:${port} (data in ${dataDir})`);
  let stopped = false;
  return {
    connectionString: `postgresql://postgres@127.0.0.1:${port}/bench`,
    version,
    dir,
    async stop() {
      if (stopped) return;
      stopped = true;
      await exec('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', 'stop']).catch(() => exec('pg_ctl', ['-D', dataDir, '-m', 'immediate', 'stop']).catch(() => undefined));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
