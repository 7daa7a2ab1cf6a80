// Child-process fixture for crash tests: runs the counter processor on the streams lib until
// SIGTERM (graceful stop) or SIGKILL (the crash under test). Loads the TypeScript sources through
// @swc/core, so it needs no build of libs/streams; other @waybill libs come from their dist.
const { readFileSync } = require('node:fs');
const { transformSync } = require('@swc/core');

require.extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(readFileSync(filename, 'utf8'), {
    filename,
    jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  });
  module._compile(code, filename);
};

const { Kafka, logLevel } = require('kafkajs');
const Redis = require('ioredis').default;
const pino = require('pino');
const { runProcessor } = require('../src/index.ts');
const { CounterDecodeError, counterProcessor, counterStore } = require('./counter.ts');

async function main() {
  const config = JSON.parse(process.env.STREAMS_FIXTURE);
  const kafka = new Kafka({ brokers: config.brokers, clientId: 'streams-crash-fixture', logLevel: logLevel.NOTHING });
  const redis = new Redis(config.redisUrl);
  const logger = pino(
    { level: process.env.STREAMS_FIXTURE_LOG_LEVEL || 'warn', base: { pid: process.pid } },
    process.env.STREAMS_FIXTURE_LOG ? pino.destination({ dest: process.env.STREAMS_FIXTURE_LOG, append: true, sync: true }) : pino.destination(2),
  );
  const runner = await runProcessor({
    kafka,
    groupId: config.groupId,
    inputTopic: config.topics.commands,
    outputTopics: [config.topics.events, config.topics.outcomes],
    processor: counterProcessor(config.topics),
    store: counterStore(config.topics.events),
    redis,
    keyPrefix: config.keyPrefix,
    transactionalIdPrefix: config.transactionalIdPrefix,
    decodeErrorClass: CounterDecodeError,
    logger,
    maxBatchSize: 50,
    sessionTimeout: 6000,
    onCrash: () => process.exit(2),
  });
  process.on('SIGTERM', () => {
    runner
      .stop()
      .then(() => redis.quit())
      .then(() => process.exit(0), () => process.exit(3));
  });
  await runner.ready;
  process.stdout.write('ready\n');
}

main().catch((error) => {
  process.stderr.write(`fixture failed: ${error && error.stack}\n`);
  process.exit(1);
});
