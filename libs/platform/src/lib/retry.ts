import type { Logger } from './logging';

/**
 * Runs `attempt` until it succeeds, waiting a little longer each time (200 ms × n, at most 5 s);
 * rethrows after `attempts`. For start-up steps that wait on a dependency still coming up (the
 * registry, a broker), each retry logged as a warning with what failed.
 */
export async function retry<T>(what: string, logger: Logger, attempt: () => Promise<T>, attempts = 30): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (i >= attempts) throw err;
      logger.warn({ err, attempt: i }, `${what} failed; retrying`);
      await new Promise((r) => setTimeout(r, Math.min(5_000, 200 * i)));
    }
  }
}
