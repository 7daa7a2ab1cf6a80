import { Command, Option } from 'commander';
import Table from 'cli-table3';
import type { CliIo } from '../lib/cli-io';
import { resolveConnection, withConnectionOptions, type ConnectionFlags } from '../lib/connection';
import { withAdmin } from '../lib/kafka-client';
import { planLedgerRebuild, rebuildLedger, type RebuildSummary } from '../lib/ledger-rebuild';
import { DEFAULT_RETENTION_DAYS } from '@waybill/ledger-projections';
import { confirm, parseDays, integerIn, retentionDaysFrom, snapshotEveryFrom } from '../lib/options';
import { progressReporter, type ReplayProgress } from '../lib/progress';
import { withRedis } from '../lib/redis-client';
import { KNOWN_STORES, planStoreRebuild, wipeStore } from '../lib/store-rebuild';

export interface ReplayFlags extends ConnectionFlags {
  snapshotEvery?: number;
  batchSize: number;
  partitionsConcurrently: number;
  progressInterval: number;
  output: 'text' | 'json';
}

/** The options `rebuild ledger` and `verify ledger` share: how to replay, and how to report. */
export function withReplayOptions(command: Command): Command {
  return withConnectionOptions(command)
    .addOption(
      new Option('--snapshot-every <n>', "the ledger's SNAPSHOT_EVERY: must match the app's (default: $SNAPSHOT_EVERY, else 100)").argParser(
        integerIn('--snapshot-every', 1, 1_000_000),
      ),
    )
    .addOption(new Option('--batch-size <n>', 'records per atomic write').argParser(integerIn('--batch-size', 1, 20_000)).default(1_000))
    .addOption(new Option('--partitions-concurrently <n>', 'partitions replayed in parallel (each in order)').argParser(integerIn('--partitions-concurrently', 1, 64)).default(4))
    .addOption(new Option('--progress-interval <seconds>', 'without a terminal: a progress line every this many seconds').argParser(integerIn('--progress-interval', 1, 3_600)).default(2))
    .addOption(new Option('--output <format>', 'text for people, json for scripts (progress stays on stderr)').choices(['text', 'json']).default('text'));
}

const REBUILD_LEDGER_HELP = `
What it does, in order:
  1. refuses while the ledger's consumer group (<prefix>ledger) has live members: stop the ledger
     app first (--force goes ahead anyway; the group offsets are then left alone);
  2. reads the end offsets of <prefix>shipment.events, .outcomes and accounting.transactions
     (read_committed: where the ledger itself can get to);
  3. deletes every key under <prefix>ledger: (the read models and their offsets);
  4. replays the three topics from their log start to those end offsets through the ledger's own
     projection (the same planning as the app) and streams each batch's net writes, with its
     offsets, to Redis as one MULTI/EXEC while the replay goes on (--write-per-batch: the app's
     own conditional script per batch instead, slower); memory holds only the summaries the
     projection reads back (about 1 KB per shipment or account);
  5. archives the shipments closed for longer than the retention window (--retention-days), as
     the app's pruner would: their history stays readable, from Kafka;
  6. commits those end offsets for the ledger's group, so the restarted app carries on from there.

Examples:
  $ waybill rebuild ledger --yes
  $ waybill rebuild ledger --topic-prefix demo. --redis-url redis://cache:6379 --yes --output json

Exit codes: 0 rebuilt, 1 refused or failed (live group, Kafka/Redis/registry error), 2 bad arguments
or no --yes without a terminal to confirm on.`;

const REBUILD_STORE_HELP = `
A reducer's state store is a cache of its changelog: wiping it makes the reducer restore each
partition from the changelog on its next assignment. This command refuses while the app's group
has live members (there is no --force: a running reducer must not decide on a wiped store), then
deletes the store's hashes <prefix><app>:<store>:<p>:state and :meta. Start the app again to restore.

Known apps: ${Object.values(KNOWN_STORES)
  .map((s) => `${s.app} (store ${s.stores.join(', ')}, changelog ${s.changelog})`)
  .join('; ')}.

Example:
  $ waybill rebuild store --app shipment-reducer --yes`;

/** Builds `waybill rebuild` with `ledger` and `store`. */
export function rebuildCommand(io: CliIo): Command {
  const ledger = withReplayOptions(new Command('ledger').description('Clear the ledger read models and rebuild them by replaying the topics.'))
    .option('--yes', 'do not ask: the read models are deleted and rebuilt')
    .option('--force', 'go ahead even while the ledger group has live members')
    .option('--write-per-batch', "write each batch with the app's own conditional script, reading back what it needs, instead of streaming net writes: slower")
    .addOption(
      new Option('--retention-days <days>', `the ledger's LEDGER_RETENTION_DAYS: must match the app's (default: $LEDGER_RETENTION_DAYS, else ${DEFAULT_RETENTION_DAYS}; 0 keeps everything)`).argParser(parseDays),
    )
    .addHelpText('after', REBUILD_LEDGER_HELP)
    .action(async (options: RebuildLedgerFlags) => runRebuildLedger(options, io));

  const store = withConnectionOptions(new Command('store').description("Wipe a reducer's Redis state store so it restores from its changelog on start."))
    .requiredOption('--app <app>', `the reducer: ${Object.keys(KNOWN_STORES).join(', ')}`)
    .option('--yes', 'do not ask: the store is deleted')
    .addOption(new Option('--output <format>', 'text for people, json for scripts').choices(['text', 'json']).default('text'))
    .addHelpText('after', REBUILD_STORE_HELP)
    .action(async (options: ConnectionFlags & { app: string; yes?: boolean; output: 'text' | 'json' }) => runRebuildStore(options, io));

  return new Command('rebuild').description('Rebuild read models and state stores from the topics.').addCommand(ledger).addCommand(store);
}

const n = (x: number) => x.toLocaleString('en-US');

type RebuildLedgerFlags = ReplayFlags & { yes?: boolean; force?: boolean; writePerBatch?: boolean; retentionDays?: number };

async function runRebuildLedger(options: RebuildLedgerFlags, io: CliIo): Promise<void> {
  const connection = resolveConnection(options, io.env);
  const snapshotEvery = snapshotEveryFrom(options.snapshotEvery, io.env);
  const retentionDays = retentionDaysFrom(options.retentionDays, io.env, DEFAULT_RETENTION_DAYS);
  await withAdmin(connection.brokers, (admin, kafka) =>
    withRedis(connection, async (redis) => {
      const plan = await planLedgerRebuild(admin, redis, connection.topicPrefix, Boolean(options.force));
      if (plan.forcedPastMembers) io.stderr(`warning: --force: ${plan.forcedPastMembers}\n`);
      await confirm(
        io,
        options.yes,
        `This deletes ${n(plan.keysToDelete)} key(s) under ${plan.keyPrefix} and replays ${n(plan.offsets)} offset(s) of ${plan.partitions.length} partition(s)`,
      );
      io.stderr(
        `rebuilding ${plan.keyPrefix} from ${n(plan.offsets)} offset(s) (group ${plan.groupId} is ${plan.groupState}; snapshot every ${snapshotEvery})\n`,
      );
      const progress = progressReporter(io, 'rebuild ledger', { intervalMs: options.progressInterval * 1000 });
      let last: ReplayProgress = { records: 0, offsetsDone: 0, offsetsTotal: plan.offsets, elapsedMs: 0 };
      const summary = await rebuildLedger(kafka, admin, redis, plan, {
        topicPrefix: connection.topicPrefix,
        registryUrl: connection.registryUrl,
        snapshotEvery,
        retentionDays,
        batchSize: options.batchSize,
        partitionsConcurrently: options.partitionsConcurrently,
        writePerBatch: options.writePerBatch,
        onProgress: (p) => progress.update((last = p)),
        onWarning: (message) => io.stderr(`warning: ${message}\n`),
      });
      progress.stop({ ...last, offsetsTotal: plan.offsets, offsetsDone: plan.offsets });
      io.stdout(options.output === 'json' ? `${JSON.stringify(summary, null, 2)}\n` : rebuildSummaryText(summary));
    }),
  );
}

export function rebuildSummaryText(s: RebuildSummary): string {
  const lines = [
    `rebuilt ${s.keyPrefix}*: ${n(s.records)} records projected into ${n(s.keys)} keys in ${s.replaySeconds.toFixed(2)} s (${n(s.recordsPerSecond)} records/s)`,
    `  deleted before: ${n(s.keysDeleted)} key(s); records not projected: ${n(s.skipped)} (undecodable: ${n(s.undecodable)}); total ${s.seconds.toFixed(2)} s`,
    `  archived: ${n(s.archived)} shipment(s) closed and ${n(s.archivedTransactions)} transaction(s) booked longer than ${s.retentionDays} day(s) ago${s.retentionDays === 0 ? ' (0: everything stays in Redis)' : ''}`,
    s.groupOffsetsSet ? `  group ${s.groupId} now resumes at the end offsets replayed; start the ledger app again` : `  ${s.groupOffsetsNote}`,
  ];
  return `${lines.join('\n')}\n`;
}

async function runRebuildStore(options: ConnectionFlags & { app: string; yes?: boolean; output: 'text' | 'json' }, io: CliIo): Promise<void> {
  const connection = resolveConnection(options, io.env);
  await withAdmin(connection.brokers, (admin) =>
    withRedis(connection, async (redis) => {
      const plan = await planStoreRebuild(admin, redis, connection.topicPrefix, options.app);
      const keys = plan.partitions.flatMap((p) => p.keys);
      if (keys.length) {
        await confirm(io, options.yes, `This deletes the ${plan.app} state store: ${keys.length} key(s) over ${plan.partitions.length} partition(s)`);
      }
      const deleted = keys.length ? await wipeStore(admin, redis, plan) : 0;
      const restore = `${plan.app} restores each partition's store from ${plan.changelog} on its next assignment: start it again`;
      if (options.output === 'json') {
        const partitions = plan.partitions.map(({ keys: _keys, ...p }) => p);
        io.stdout(`${JSON.stringify({ app: plan.app, groupId: plan.groupId, groupState: plan.groupState, changelog: plan.changelog, deletedKeys: deleted, partitions, message: restore }, null, 2)}\n`);
        return;
      }
      if (!keys.length) {
        io.stdout(`${plan.app}: the state store is already empty; ${restore}\n`);
        return;
      }
      const table = new Table({ head: ['STORE', 'PARTITION', 'STATES', 'APPLIED CHANGELOG OFFSET'], style: { head: [], border: [] } });
      for (const p of plan.partitions) table.push([p.store, p.partition, p.states, p.changelogOffset ?? '-']);
      io.stdout(`${table.toString()}\ndeleted ${deleted} key(s) of ${plan.app}'s state store (group ${plan.groupId} is ${plan.groupState}).\n${restore}.\n`);
    }),
  );
}
