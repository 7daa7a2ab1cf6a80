// Runs the counter processor on the streams lib in a child process (counter-runner.js), so a test
// can SIGKILL it the way an orchestrator's OOM killer or a node failure would.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { CounterTopics } from './counter';

const FIXTURE = join(__dirname, 'counter-runner.js');

export interface ChildRunnerConfig {
  brokers: string[];
  redisUrl: string;
  topics: CounterTopics;
  groupId: string;
  keyPrefix: string;
  transactionalIdPrefix: string;
}

/** Starts the runner; resolves once it joined its group. `logFile` collects its pino lines. */
export function spawnRunner(config: ChildRunnerConfig, options: { logFile?: string; logLevel?: string } = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, [FIXTURE], {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      STREAMS_FIXTURE: JSON.stringify(config),
      ...(options.logFile ? { STREAMS_FIXTURE_LOG: options.logFile } : {}),
      ...(options.logLevel ? { STREAMS_FIXTURE_LOG_LEVEL: options.logLevel } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`runner not ready in 40 s: ${stderr}`)), 40_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`runner exited with ${code} before ready: ${stderr}`));
    });
  });
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}
