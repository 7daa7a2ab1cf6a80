import { join } from 'node:path';
import { ChildService, waitUntil } from './child-service';
import { ServiceStartError } from './errors';
import type { Progress } from './progress';
import { workspaceRoot } from './workspace';

export interface RegistryHandle {
  url: string;
  service: ChildService;
  stop(): Promise<void>;
}

/**
 * Starts our Confluent-compatible schema registry (libs/registry) as a child process. It keeps
 * its state in the `_schemas` topic, so it is ready only once it has read that topic to its end:
 * until then `GET /subjects` does not answer 200.
 */
export async function startSchemaRegistry(
  options: { port: number; brokers: string[]; logsDir: string; topic?: string },
  progress: Progress,
): Promise<RegistryHandle> {
  const entry = join(workspaceRoot(), 'libs', 'registry', 'dist', 'main.js');
  progress.step(`starting the schema registry on port ${options.port}`);
  const service = ChildService.spawn('schema-registry', process.execPath, [entry], {
    env: {
      ...process.env,
      PORT: String(options.port),
      KAFKA_BROKERS: options.brokers.join(','),
      SCHEMAS_TOPIC: options.topic ?? '_schemas',
      LOG_LEVEL: process.env.REGISTRY_LOG_LEVEL ?? 'info',
    },
    logFile: join(options.logsDir, 'schema-registry.log'),
    echo: /"level":(50|60)/,
  });
  const url = `http://127.0.0.1:${options.port}`;
  try {
    await waitUntil(
      'schema registry',
      async () => (await fetch(`${url}/subjects`, { signal: AbortSignal.timeout(2000) })).status === 200,
      { timeoutMs: 60_000, service },
    );
  } catch (err) {
    await service.stop(2_000);
    throw new ServiceStartError((err as Error).message);
  }
  progress.done(`schema registry ready at ${url}`);
  return { url, service, stop: () => service.stop(10_000) };
}
