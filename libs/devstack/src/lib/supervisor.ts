import { discoverApps, instanceLogFile, instanceName, startApp, type RunningApp } from './apps';
import { silentProgress } from './progress';

export interface SupervisorOptions {
  root: string;
  /** The environment every app was started with (addresses, keys, the other apps' URLs). */
  appEnv: Record<string, string>;
  logsDir: string;
  /** One line per thing that happened (a crash, a restart, giving up). */
  say: (line: string) => void;
  /** Restarts wait 0.5 s, then twice as long each time, at most this. */
  maxBackoffMs?: number;
  /** This many crashes within `crashWindowMs` and the app is left down. */
  maxCrashes?: number;
  crashWindowMs?: number;
}

/**
 * Restarts an app of the local stack that exits on its own, as compose's `restart: unless-stopped`
 * would: on the same port (the other apps keep its URL), after a backoff that doubles with each
 * quick crash, saying so; it gives up with one clear line after repeated fast crashes. `apps` is
 * the stack's own list: a restarted app replaces its entry, so stopping the stack stops it.
 */
export function superviseApps(apps: RunningApp[], options: SupervisorOptions): { stop(): void } {
  const { say } = options;
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;
  const maxCrashes = options.maxCrashes ?? 5;
  const crashWindowMs = options.crashWindowMs ?? 60_000;
  const descriptors = new Map(discoverApps(options.root).map((d) => [d.name, d]));
  const crashes = new Map<string, number[]>();
  let stopped = false;

  const watch = (index: number) => {
    const running = apps[index];
    void running.service.exited.then(async ({ code, signal }) => {
      if (stopped || apps[index] !== running) return;
      const now = Date.now();
      const recent = [...(crashes.get(running.name) ?? []), now].filter((at) => now - at < crashWindowMs);
      crashes.set(running.name, recent);
      if (recent.length >= maxCrashes) {
        say(`✖ ${instanceName(running)} crashed ${recent.length} times within ${Math.round(crashWindowMs / 1000)} s (last: code ${code}, signal ${signal}); left down. See ${options.logsDir}/${instanceLogFile(running)}`);
        return;
      }
      const delayMs = Math.min(maxBackoffMs, 500 * 2 ** (recent.length - 1));
      say(`⚠ ${instanceName(running)} exited (code ${code}, signal ${signal}); restarting it in ${(delayMs / 1000).toFixed(1)} s`);
      const descriptor = descriptors.get(running.name);
      const port = Number(new URL(running.url).port);
      for (let attempt = 1; !stopped; attempt += 1) {
        await new Promise((r) => setTimeout(r, attempt === 1 ? delayMs : Math.min(maxBackoffMs, delayMs * 2 ** (attempt - 1))));
        if (stopped || !descriptor) return;
        const began = Date.now();
        try {
          const restarted = await startApp(descriptor, port, options.appEnv, options.logsDir, silentProgress, running.instance);
          // The stack began stopping while this one started: it must not outlive the stack.
          if (stopped) return void (await restarted.service.stop(5_000));
          apps[index] = restarted;
          say(`✔ ${instanceName(running)} is back at ${running.url}, ready ${((Date.now() - now) / 1000).toFixed(1)} s after it exited (started in ${((Date.now() - began) / 1000).toFixed(1)} s)`);
          watch(index);
          return;
        } catch (err) {
          say(`⚠ restarting ${instanceName(running)} failed (attempt ${attempt}): ${(err as Error).message.split('\n')[0]}`);
        }
      }
    });
  };
  apps.forEach((_, index) => watch(index));
  return {
    stop: () => {
      stopped = true;
    },
  };
}
