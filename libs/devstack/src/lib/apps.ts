import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChildService, waitUntil } from './child-service';
import { ServiceStartError } from './errors';
import { freePort } from './ports';
import type { Progress } from './progress';

export interface AppDescriptor {
  name: string;
  dir: string;
  defaultPort: number;
  entry: string;
}

/** Apps declare themselves with a `waybill.port` field in their package.json. */
export function discoverApps(root: string): AppDescriptor[] {
  const appsDir = join(root, 'apps');
  if (!existsSync(appsDir)) return [];
  return readdirSync(appsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(appsDir, d.name, 'package.json')))
    .flatMap((d) => {
      const pkg = JSON.parse(readFileSync(join(appsDir, d.name, 'package.json'), 'utf8'));
      if (!pkg.waybill?.port) return [];
      const dir = join(appsDir, d.name);
      return [{ name: d.name, dir, defaultPort: Number(pkg.waybill.port), entry: join(dir, 'dist', 'main.js') }];
    })
    .sort((a, b) => a.defaultPort - b.defaultPort);
}

/** How an app that calls another finds it: `ACCOUNT_REDUCER_URL` for account-reducer. */
export function appUrlVariable(app: string): string {
  return `${app.toUpperCase().replace(/-/g, '_')}_URL`;
}

export interface RunningApp {
  name: string;
  url: string;
  service: ChildService;
  /** 1 for the first instance of its app (the default), 2 for the second, … */
  instance?: number;
}

/** `shipment-reducer` for the first instance of an app, `shipment-reducer#2` for the second. */
export function instanceName(app: Pick<RunningApp, 'name' | 'instance'>): string {
  return app.instance && app.instance > 1 ? `${app.name}#${app.instance}` : app.name;
}

/** Where an instance of an app logs, in the stack's logs folder: `ledger.log`, `ledger-2.log`, … */
export function instanceLogFile(app: Pick<RunningApp, 'name' | 'instance'>): string {
  return app.instance && app.instance > 1 ? `${app.name}-${app.instance}.log` : `${app.name}.log`;
}

export async function healthOf(url: string): Promise<number | 'down'> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
    return res.status;
  } catch {
    return 'down';
  }
}

export async function startApp(
  app: AppDescriptor,
  port: number,
  env: Record<string, string>,
  logsDir: string,
  progress: Progress,
  instance = 1,
): Promise<RunningApp> {
  if (!existsSync(app.entry)) throw new ServiceStartError(`${app.name} is not built (${app.entry} missing): run npm run build`);
  const label = instanceName({ name: app.name, instance });
  progress.step(`starting ${label} on port ${port}`);
  const service = ChildService.spawn(label, process.execPath, [app.entry], {
    cwd: app.dir,
    env: { ...process.env, ...env, PORT: String(port) },
    logFile: join(logsDir, instanceLogFile({ name: app.name, instance })),
    echo: /"level":(50|60)/,
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntil(app.name, async () => (await healthOf(url)) === 200, { timeoutMs: 60_000, service });
  } catch (err) {
    await service.stop(2_000);
    throw new ServiceStartError((err as Error).message);
  }
  progress.done(`${label} up at ${url}`);
  return { name: app.name, url, service, instance };
}

/**
 * Starts one built app with `env` on a free port (tests): resolves once `/readyz` answers 200,
 * i.e. its consumers joined and its dependencies answer.
 */
export async function startAppProcess(
  name: string,
  env: Record<string, string>,
  options: { root: string; logsDir: string; readyTimeoutMs?: number; /** A restart passes the port it had, so apps that call it keep their URL. */ port?: number },
): Promise<RunningApp & { port: number }> {
  const app = discoverApps(options.root).find((a) => a.name === name);
  if (!app) throw new ServiceStartError(`no app named ${name} under apps/`);
  if (!existsSync(app.entry)) throw new ServiceStartError(`${name} is not built (${app.entry} missing): run npm run build`);
  const port = options.port ?? (await freePort());
  const service = ChildService.spawn(name, process.execPath, [app.entry], {
    cwd: app.dir,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, PORT: String(port) },
    logFile: join(options.logsDir, `${name}-${port}.log`),
    echo: /"level":(50|60)/,
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntil(
      name,
      async () => (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) })).status === 200,
      { timeoutMs: options.readyTimeoutMs ?? 60_000, service },
    );
  } catch (err) {
    // Nobody holds a handle to an app that never became ready: stop it here or it outlives the test.
    await service.stop(2_000);
    throw err;
  }
  return { name, url, service, port };
}
