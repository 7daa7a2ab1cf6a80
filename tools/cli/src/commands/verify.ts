import { Command } from 'commander';
import { ReadModelMismatchError } from '../errors';
import type { CliIo } from '../lib/cli-io';
import { resolveConnection } from '../lib/connection';
import { withAdmin } from '../lib/kafka-client';
import { differencesTable } from '../lib/keyspace-diff';
import { verifyLedger } from '../lib/ledger-rebuild';
import { snapshotEveryFrom } from '../lib/options';
import { progressReporter, type ReplayProgress } from '../lib/progress';
import { withRedis } from '../lib/redis-client';
import { withReplayOptions, type ReplayFlags } from './rebuild';

const VERIFY_LEDGER_HELP = `
Replays the topics into memory, up to the offsets the live read model says it reflects (its
<prefix>ledger:offsets hash), with the ledger's own projection, and compares the result with the
live keys under <prefix>ledger: one by one. Read-only: nothing in Redis or Kafka changes. The
ledger may keep running; if its offsets move meanwhile, the replay catches up and compares again.

Exit codes: 0 identical, 1 differences (a table of missing, extra and different keys) or a failure,
2 bad arguments.

Example:
  $ waybill verify ledger --topic-prefix demo.`;

/** Builds `waybill verify` with `ledger`. */
export function verifyCommand(io: CliIo): Command {
  const ledger = withReplayOptions(new Command('ledger').description('Check the ledger read models against a replay of the topics, key by key.'))
    .addHelpText('after', VERIFY_LEDGER_HELP)
    .action(async (options: ReplayFlags) => runVerifyLedger(options, io));
  return new Command('verify').description('Check read models against a replay of the topics.').addCommand(ledger);
}

async function runVerifyLedger(options: ReplayFlags, io: CliIo): Promise<void> {
  const connection = resolveConnection(options, io.env);
  const snapshotEvery = snapshotEveryFrom(options.snapshotEvery, io.env);
  const result = await withAdmin(connection.brokers, (admin, kafka) =>
    withRedis(connection, async (redis) => {
      const progress = progressReporter(io, 'verify ledger', { intervalMs: options.progressInterval * 1000 });
      let last: ReplayProgress | undefined;
      const verified = await verifyLedger(kafka, admin, redis, {
        topicPrefix: connection.topicPrefix,
        registryUrl: connection.registryUrl,
        snapshotEvery,
        batchSize: options.batchSize,
        partitionsConcurrently: options.partitionsConcurrently,
        onProgress: (p) => progress.update((last = p)),
        onWarning: (message) => io.stderr(`warning: ${message}\n`),
      });
      if (last) progress.stop({ ...last, offsetsDone: last.offsetsTotal });
      return verified;
    }),
  );
  for (const note of result.notes) io.stderr(`note: ${note}\n`);
  if (options.output === 'json') {
    io.stdout(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    const head = `${result.keyPrefix}: replayed ${result.records.toLocaleString('en-US')} records up to the offsets the live read model reflects; ${result.keysRebuilt} keys rebuilt, ${result.keysLive} live (${result.seconds.toFixed(2)} s)\n`;
    io.stdout(result.identical ? `${head}identical: every key matches the replay\n` : `${head}${differencesTable(result.differences)}`);
  }
  if (!result.identical) {
    throw new ReadModelMismatchError(`the live read model differs from a replay of the topics in ${result.differences.length} key(s)`, { differences: result.differences.length });
  }
}
