const { rmSync } = require('node:fs');

module.exports = async function globalTeardown() {
  const stack = globalThis.__WAYBILL_TEST_STACK__;
  if (!stack) return;
  await stack.registry?.stop();
  await Promise.allSettled([stack.kafka.stop(), stack.redis.stop(), stack.redisCluster?.stop()]);
  rmSync(stack.dir, { recursive: true, force: true });
};
