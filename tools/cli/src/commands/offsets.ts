import { Command, Option } from 'commander';
import { UsageError } from '../errors';
import type { CliIo } from '../lib/cli-io';
import { withAdmin } from '../lib/kafka-client';
import { applyPlan, planReset, type ResetRequest } from '../lib/group-offsets';
import { DRY_RUN_NOTICE, planToJson, planToTable } from '../lib/render';
import {
  mergeTopicSelections,
  parseInteger,
  parseIsoDatetime,
  parseIsoDuration,
  parseTopicSelection,
  type ResetSpec,
  type TopicSelection,
} from '../lib/reset-spec';

export const DEFAULT_BOOTSTRAP = '127.0.0.1:9092';

/** Every reset spec, in the order --help lists them; exactly one must be given. */
const SPEC_OPTIONS = ['resetToEarliest', 'resetToLatest', 'resetToDatetime', 'resetByDuration', 'resetShiftBy', 'resetToOffset'] as const;
const SPEC_FLAGS = SPEC_OPTIONS.map((name) => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);

interface OffsetsOptions {
  bootstrapServer?: string;
  group: string;
  topic: TopicSelection[];
  allTopics?: boolean;
  resetToEarliest?: boolean;
  resetToLatest?: boolean;
  resetToDatetime?: number;
  resetByDuration?: { durationMs: number; duration: string };
  resetShiftBy?: number;
  resetToOffset?: number;
  dryRun?: boolean;
  execute?: boolean;
  output: 'table' | 'json';
}

const EXAMPLES = `
Each partition's new offset is computed the way kafka-consumer-groups --reset-offsets does it:
  --reset-to-earliest       the log start offset (oldest record still kept)
  --reset-to-latest         the log end offset (skip everything not yet consumed)
  --reset-to-datetime T     the first record with timestamp >= T; the log end when no record is that new
  --reset-by-duration D     like --reset-to-datetime with T = now - D
  --reset-shift-by N        committed offset + N, clamped to [log start, log end]; refused for a
                            partition the group has never committed on (as Kafka does)
  --reset-to-offset N       N, clamped to [log start, log end]

Nothing changes without --execute, and the group must have no running members.

Examples:
  # Preview rewinding the ledger's read models by one hour, then apply it
  $ waybill offsets --group ledger --topic shipment.events --reset-by-duration PT1H
  $ waybill offsets --group ledger --topic shipment.events --reset-by-duration PT1H --execute

  # Replay partitions 0 and 2 from an instant (UTC unless the text has an offset)
  $ waybill offsets --group ledger --topic shipment.events:0,2 --reset-to-datetime 2026-11-24T10:00:00.000Z

  # Go back 100 records on every topic the group has committed offsets for, as JSON
  $ waybill offsets --group accounting-listener --all-topics --reset-shift-by -100 --output json

  # Rebuild from scratch
  $ waybill offsets --bootstrap-server kafka-1:9092,kafka-2:9092 --group ledger \\
      --topic shipment.events --topic shipment.outcomes --reset-to-earliest --execute

Exit codes: 0 done, 1 the reset could not be done (live group, unknown topic, Kafka error), 2 bad arguments.`;

/** Builds `waybill offsets`. `io` carries the streams and environment so tests can run it in-process. */
export function offsetsCommand(io: CliIo): Command {
  const command = new Command('offsets')
    .description("Show or reset a consumer group's committed offsets to replay (or skip) records, like kafka-consumer-groups --reset-offsets.")
    .addOption(
      new Option('--bootstrap-server <host:port,…>', `Kafka brokers, comma-separated (default: $KAFKA_BROKERS, else ${DEFAULT_BOOTSTRAP})`),
    )
    .requiredOption('--group <group>', 'consumer group whose offsets to reset, e.g. ledger')
    .addOption(
      new Option('--topic <topic[:partitions]>', 'topic to reset, all its partitions or only the listed ones (shipment.events:0,2); repeatable')
        .argParser((value: string, previous: TopicSelection[] = []) => [...previous, parseTopicSelection(value)])
        .conflicts('allTopics'),
    )
    .option('--all-topics', 'every partition the group has a committed offset on')
    .addOption(new Option('--reset-to-earliest', 'move to the oldest record still kept').conflicts(others('resetToEarliest')))
    .addOption(new Option('--reset-to-latest', 'move to the end: skip everything not yet consumed').conflicts(others('resetToLatest')))
    .addOption(
      new Option('--reset-to-datetime <iso-8601>', 'move to the first record at or after this instant, e.g. 2026-11-24T10:00:00.000Z or 2026-11-24T11:00:00+01:00')
        .argParser((value: string) => parseIsoDatetime(value))
        .conflicts(others('resetToDatetime')),
    )
    .addOption(
      new Option('--reset-by-duration <iso-8601-duration>', 'move to the first record newer than now minus this, e.g. PT1H, PT30M, P1DT2H')
        .argParser((value: string) => ({ durationMs: parseIsoDuration(value), duration: value.trim() }))
        .conflicts(others('resetByDuration')),
    )
    .addOption(
      new Option('--reset-shift-by <n>', 'move by n records from the committed offset; negative goes back, e.g. -500')
        .argParser((value: string) => parseInteger('--reset-shift-by', value, { allowNegative: true }))
        .conflicts(others('resetShiftBy')),
    )
    .addOption(
      new Option('--reset-to-offset <n>', 'move every selected partition to offset n')
        .argParser((value: string) => parseInteger('--reset-to-offset', value, { allowNegative: false }))
        .conflicts(others('resetToOffset')),
    )
    .addOption(new Option('--dry-run', 'only show what would change (the default)').conflicts('execute'))
    .option('--execute', 'apply the new offsets')
    .addOption(new Option('--output <format>', 'table for people, json for scripts').choices(['table', 'json']).default('table'))
    .addHelpText('after', EXAMPLES)
    .action(async (options: OffsetsOptions) => {
      await runOffsets(options, io);
    });
  return command;
}

function others(self: (typeof SPEC_OPTIONS)[number]): string[] {
  return SPEC_OPTIONS.filter((name) => name !== self);
}

/** Turns the parsed flags into a request, or says which flag is missing. */
export function toResetRequest(options: OffsetsOptions): ResetRequest {
  const given = SPEC_OPTIONS.filter((name) => options[name] !== undefined);
  if (given.length !== 1) {
    throw new UsageError('reset spec', `give exactly one of ${SPEC_FLAGS.join(', ')}`);
  }
  const topics = options.topic ?? [];
  if (!options.allTopics && topics.length === 0) {
    throw new UsageError('--topic', 'say which partitions to reset with --topic <topic[:partitions]> (repeatable) or --all-topics');
  }
  let spec: ResetSpec;
  if (options.resetToEarliest) spec = { kind: 'earliest' };
  else if (options.resetToLatest) spec = { kind: 'latest' };
  else if (options.resetToDatetime !== undefined) spec = { kind: 'datetime', timestamp: options.resetToDatetime };
  else if (options.resetByDuration !== undefined) spec = { kind: 'duration', ...options.resetByDuration };
  else if (options.resetShiftBy !== undefined) spec = { kind: 'shift-by', shift: options.resetShiftBy };
  else spec = { kind: 'to-offset', offset: options.resetToOffset as number };
  return {
    groupId: options.group,
    scope: options.allTopics ? 'all' : mergeTopicSelections(topics),
    spec,
  };
}

async function runOffsets(options: OffsetsOptions, io: CliIo): Promise<void> {
  const request = toResetRequest(options);
  const brokers = (options.bootstrapServer ?? io.env.KAFKA_BROKERS ?? DEFAULT_BOOTSTRAP)
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (brokers.length === 0) throw new UsageError('--bootstrap-server', 'no broker address given');
  const execute = Boolean(options.execute);

  await withAdmin(brokers, async (admin) => {
    const plan = await planReset(admin, request);
    if (execute) await applyPlan(admin, plan);
    if (options.output === 'json') {
      const message = execute ? 'applied' : DRY_RUN_NOTICE;
      io.stdout(`${JSON.stringify({ ...planToJson(plan, execute), message }, null, 2)}\n`);
    } else {
      io.stdout(planToTable(plan, execute));
    }
  });
}
