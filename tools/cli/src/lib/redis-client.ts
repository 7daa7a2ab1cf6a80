import { connectionsFromEnv, createRedis, type RedisClient } from '@waybill/platform';

/**
 * Runs `fn` with a connected Redis client and always quits. Gives up after a few reconnects, so
 * a wrong --redis-url fails in seconds instead of retrying for ever. REDIS_USERNAME, REDIS_PASSWORD
 * and REDIS_TLS_* come from the environment, as for every app.
 */
export async function withRedis<T>(target: { redisUrl: string; redisCluster: boolean }, fn: (redis: RedisClient) => Promise<T>, env: NodeJS.ProcessEnv = process.env): Promise<T> {
  const redis = createRedis({ ...connectionsFromEnv(env), REDIS_URL: target.redisUrl, REDIS_CLUSTER: target.redisCluster }, {
    lazyConnect: true,
    connectTimeout: 5_000,
    maxRetriesPerRequest: 3,
    retryStrategy: (times) => (times > 3 ? null : 200 * times),
  });
  // Failures surface as rejected commands; without a listener ioredis would also print them.
  redis.on('error', () => undefined);
  await redis.connect();
  try {
    return await fn(redis);
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}
