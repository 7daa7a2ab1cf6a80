import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';

export interface ShutdownStep {
  name: string;
  run: () => Promise<void> | void;
}

/**
 * The step that closes an app's Redis client. A connection already closed counts as closed: Ctrl-C
 * in a terminal signals a local Redis too, which may exit before the app reaches this step, and
 * that is nothing an operator must act on.
 */
export function redisShutdownStep(redis: Redis | Cluster): ShutdownStep {
  return {
    name: 'redis',
    run: async () => {
      if (redis.status === 'end') return;
      try {
        await redis.quit();
      } catch (error) {
        if (!/Connection is closed/.test((error as Error).message ?? '')) throw error;
        redis.disconnect();
      }
    },
  };
}

/**
 * On SIGTERM or SIGINT, runs `steps` in order (stop taking work, finish the batch in hand,
 * commit, disconnect) and exits; if they take longer than `timeoutMs`, exits non-zero anyway so
 * an orchestrator never waits on a wedged process.
 */
export function installShutdown(logger: Logger, steps: ShutdownStep[], timeoutMs = 10_000): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  const shutdown = (signal: string) => {
    if (stopping) return stopping;
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs }, 'shutdown timed out; exiting');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    stopping = (async () => {
      let failed = false;
      for (const step of steps) {
        try {
          await step.run();
          logger.info({ step: step.name }, 'stopped');
        } catch (err) {
          failed = true;
          logger.error({ err, step: step.name }, 'shutdown step failed');
        }
      }
      clearTimeout(timer);
      logger.flush?.();
      process.exitCode = failed ? 1 : 0;
    })();
    return stopping;
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  return () => shutdown('manual');
}
