import { spawn, ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export interface ChildServiceOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** stdout and stderr are appended here, so the terminal stays readable. */
  logFile: string;
  /** Lines matching this are echoed to the parent's stderr (warnings and errors). */
  echo?: RegExp;
}

const living = new Set<ChildService>();

// NOTE: last resort for a parent that exits without stopping its children (an uncaught error):
// 'exit' handlers must be synchronous, so this can only SIGKILL.
process.once('exit', () => {
  for (const child of living) child.kill('SIGKILL');
});

/** A child process the stack owns: logs to a file, stops with SIGTERM, then SIGKILL if it lingers. */
export class ChildService {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly recent: string[] = [];
  private exitInfo?: { code: number | null; signal: NodeJS.Signals | null };

  private constructor(readonly name: string, private readonly child: ChildProcess, options: ChildServiceOptions) {
    mkdirSync(dirname(options.logFile), { recursive: true });
    const log = createWriteStream(options.logFile, { flags: 'a' });
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        this.recent.push(line);
        if (this.recent.length > 40) this.recent.shift();
        if (options.echo?.test(line)) process.stderr.write(`[${name}] ${line}\n`);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    living.add(this);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        living.delete(this);
        this.exitInfo = { code, signal };
        log.end();
        resolve(this.exitInfo);
      });
    });
  }

  static spawn(name: string, command: string, args: readonly string[], options: ChildServiceOptions): ChildService {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ChildService(name, child, options);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  /** The last lines it printed: what to show when it fails to start. */
  tail(): string {
    return this.recent.join('\n');
  }

  kill(signal: NodeJS.Signals): void {
    if (!this.hasExited) this.child.kill(signal);
  }

  /** SIGTERM, wait up to `graceMs`, then SIGKILL and wait for the exit. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.hasExited) return;
    this.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)));
    const result = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      this.kill('SIGKILL');
      await this.exited;
    }
  }
}

/** Polls `probe` until it resolves true; fails early if `service` exits first. */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  options: { timeoutMs: number; service?: ChildService; intervalMs?: number },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (options.service?.hasExited) {
      throw new Error(`${what}: the process exited before it was ready. Last output:\n${options.service.tail()}`);
    }
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) {
      throw new Error(`${what}: not ready after ${options.timeoutMs} ms${options.service ? `. Last output:\n${options.service.tail()}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 250));
  }
}
