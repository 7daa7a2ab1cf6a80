import { z } from 'zod';
import { parseApiKeys } from './auth';
import { connectionConfigShape, connectionProblems, redisUrls } from './connections';
import { ConfigError } from './errors';

const commaList = z
  .string()
  .transform((s) => s.split(',').map((part) => part.trim()).filter(Boolean))
  .refine((parts) => parts.length > 0, 'must name at least one entry');

/** Environment variables every app shares. Apps extend this with their own. */
export const baseConfigShape = {
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PORT: z.coerce.number().int().min(0).max(65535),
  KAFKA_BROKERS: commaList.describe('comma-separated host:port list, e.g. localhost:9092'),
  KAFKA_CLIENT_ID: z.string().min(1).optional(),
  SCHEMA_REGISTRY_URL: z.string().url(),
  REDIS_URL: z
    .string()
    .refine((spec) => redisUrls(spec).length > 0 && redisUrls(spec).every((url) => /^rediss?:\/\//.test(url)), 'must be a redis:// or rediss:// URL (with REDIS_CLUSTER=true, a comma-separated list of a cluster\'s nodes)')
    .describe('redis://host:port; with REDIS_CLUSTER=true, one or more nodes of the cluster, comma-separated'),
  // Checked here, not only when the HTTP app starts: a key given in clear (or a typo in a hash) is
  // a configuration error the app names at once (exit 2), before it connects to anything.
  API_KEYS: z
    .string()
    .min(1)
    .superRefine((spec, ctx) => {
      try {
        parseApiKeys(spec);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        for (const problem of err.problems) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
      }
    })
    .describe('comma-separated principal:role:sha256-hex-of-key entries (hashes only, never keys)'),
  TOPIC_PREFIX: z.string().default(''),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /**
   * Requests per minute one principal (API key's principal) may make to one app instance before
   * answering 429 with `Retry-After`. High enough for normal load and the benchmarks.
   */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(100_000_000).default(6_000),
  /** Requests per minute per client IP without a valid API key (401s, the admin page's assets). */
  RATE_LIMIT_ANONYMOUS_PER_MINUTE: z.coerce.number().int().min(1).max(100_000_000).default(600),
  /** TLS, SASL, Redis ACL users, registry basic auth: all optional, see README "Connecting to your own cluster". */
  ...connectionConfigShape,
} as const;

/** The limits `createHttpApp` enforces, from an app's validated configuration. */
export function rateLimitOf(config: { RATE_LIMIT_PER_MINUTE: number; RATE_LIMIT_ANONYMOUS_PER_MINUTE: number }): { perMinute: number; anonymousPerMinute: number } {
  return { perMinute: config.RATE_LIMIT_PER_MINUTE, anonymousPerMinute: config.RATE_LIMIT_ANONYMOUS_PER_MINUTE };
}

export const baseConfigSchema = z.object(baseConfigShape);
export type BaseConfig = z.infer<typeof baseConfigSchema>;

/**
 * Validates `env` against `schema` and names every bad variable at once, so an operator fixes a
 * deployment in one pass instead of one restart per typo.
 */
export function loadConfig<T extends z.ZodTypeAny>(schema: T, env: NodeJS.ProcessEnv = process.env): z.infer<T> {
  const result = schema.safeParse(env);
  if (result.success) {
    // Rules between the connection variables (a SASL protocol needs its credentials…); variables
    // the schema does not have are absent from the data and pass.
    const between = connectionProblems(result.data as Record<string, never>);
    if (between.length) throw new ConfigError(between.map((issue) => `${issue.path}: ${issue.message}`));
    return result.data;
  }
  const problems = result.error.issues.map((issue) => {
    const variable = issue.path.join('.') || '(environment)';
    const given = issue.path.length === 1 ? env[String(issue.path[0])] : undefined;
    return given === undefined ? `${variable}: ${issue.message} (not set)` : `${variable}: ${issue.message}`;
  });
  // The rules between connection variables too, on what was given, for variables not yet named.
  const named = new Set(result.error.issues.map((issue) => String(issue.path[0])));
  const shape = schema instanceof z.ZodObject ? (schema.shape as Record<string, unknown>) : {};
  const given = Object.fromEntries(Object.keys(shape).filter((k) => !named.has(k) && env[k] !== undefined).map((k) => [k, env[k]]));
  for (const issue of connectionProblems(given)) if (!named.has(issue.path)) problems.push(`${issue.path}: ${issue.message}`);
  throw new ConfigError(problems);
}
