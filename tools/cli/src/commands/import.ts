import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createSerde, kafkajsRegistryClient, prefixedTopics, SchemaRegistryError, type Observation } from '@waybill/contracts';
import { textCharacterProblem } from '@waybill/util';
import { BadInputError, ConnectionError, UsageError } from '../errors';
import type { CliIo } from '../lib/cli-io';
import { DEFAULT_BROKERS, DEFAULT_REGISTRY_URL } from '../lib/connection';
import { checkLedger, knownShipments } from '../lib/import/ledger-client';
import { planImport, shipmentsOf, type ImportPlan } from '../lib/import/plan';
import { encodeObservations, produceMessages, ProduceFailedError } from '../lib/import/produce';
import { countProgress } from '../lib/import/progress';
import { planTable, planToJson, rowsToShow, summaryLines } from '../lib/import/render';
import { formatOfFile, readRows, UnreadableFileError, type ImportFormat } from '../lib/import/rows';
import { cliKafka } from '../lib/kafka-client';
import { integerIn } from '../lib/options';

export const DEFAULT_LEDGER_URL = 'http://127.0.0.1:3003';

export interface ImportFlags {
  file: string;
  format?: ImportFormat;
  as?: string;
  source?: string;
  execute?: boolean;
  onBadRow: 'skip' | 'refuse';
  resend?: boolean;
  ledgerUrl?: string;
  apiKey?: string;
  bootstrapServer?: string;
  registryUrl?: string;
  topicPrefix?: string;
  batchSize: number;
  lookupConcurrency: number;
  show: number;
  progressInterval: number;
  output: 'text' | 'json';
}

const IMPORT_HELP = `
Backfills what a legacy system of record reports into shipment.observations, with each fact's own
business time (occurredAt). The reducer records each (shipment, source, sourceId) once for all
time, flags facts the state machine forbids (recorded anyway, alerted), and places late facts at
their business time.

Without --execute (a dry run) nothing is produced: the rows are folded, in file order, onto each
shipment's state as the ledger holds it, with the domain's own decideObservation and
evolveEnvelope, and printed as a table: line, shipment, kind, business time, who did it in the
source, the status change, and the violation the state machine would flag.

Formats (by extension, else --format):
  JSONL  one Observation-shaped object a line; occurredAt as ISO 8601 with a zone or epoch ms
         {"shipmentId":"S-1","sourceId":"e-1","observedBy":"jan","kind":"Packed","packageCount":2,"occurredAt":"2025-03-01T10:00:00Z"}
  CSV    a header row naming the columns (any order, empty cell = absent):
         shipmentId, source, sourceId, process, observedBy, kind, occurredAt, toStatus, sku,
         quantity, packageCount, carrier, trackingNumber, receivedBy, reason, and for kind Created
         orderId, customerAccountId, currency, lines (SKU:quantity:unitPriceMinor;…),
         destination.name, destination.street, destination.city, destination.postalCode,
         destination.country
reportedBy is never read from the file: every row is reported by --as.

Examples:
  $ WAYBILL_API_KEY=demo-viewer-key waybill import observations --file export.csv --source legacy-wms
  $ waybill import observations --file export.jsonl --as import:migration-2025 --execute
  $ waybill import observations --file export.csv --execute --on-bad-row skip

Exit codes: 0 done (or a dry run that would go ahead), 1 refused or bad input (bad rows under
--on-bad-row refuse, a file that is not the format it claims), 2 usage or connection problems (no
such file, unreachable broker, registry or ledger, a key the ledger refuses).`;

function showCount(value: string): number {
  if (value === 'all') return Number.MAX_SAFE_INTEGER;
  try {
    return integerIn('--show', 0, 10_000_000)(value);
  } catch (error) {
    throw new InvalidArgumentError(`${(error as Error).message} (a number, or all)`);
  }
}

/** Builds `waybill import` with `observations`. */
export function importCommand(io: CliIo): Command {
  const observations = new Command('observations')
    .description("Backfill a legacy system's export (CSV or JSONL) into shipment.observations with the facts' business times: a dry run unless --execute.")
    .requiredOption('--file <path>', 'the export: .csv (header row) or .jsonl (one object a line)')
    .addOption(new Option('--format <format>', 'the file format, when the extension does not say').choices(['csv', 'jsonl']))
    .addOption(new Option('--as <name>', 'who reports the rows (reportedBy on every row; default: $WAYBILL_IMPORT_AS, else import:<your user name>)'))
    .addOption(new Option('--source <name>', "the source for rows that name none (e.g. legacy-wms)"))
    .option('--execute', 'produce the rows (default: a dry run that produces nothing)')
    .addOption(new Option('--on-bad-row <policy>', 'refuse: produce nothing if any row is bad; skip: produce the others').choices(['skip', 'refuse']).default('refuse'))
    .option('--resend', 'also produce rows the ledger shows as recorded (the reducer records them once anyway): when the ledger is behind or was rebuilt')
    .addOption(new Option('--ledger-url <url>', `the ledger, for each shipment's current state (default: $LEDGER_URL, else ${DEFAULT_LEDGER_URL})`))
    .addOption(new Option('--api-key <key>', 'an API key the ledger accepts, any role (default: $WAYBILL_API_KEY)'))
    .addOption(new Option('--bootstrap-server <host:port,…>', `Kafka brokers, comma-separated (default: $KAFKA_BROKERS, else ${DEFAULT_BROKERS})`))
    .addOption(new Option('--registry-url <url>', `schema registry (default: $SCHEMA_REGISTRY_URL, else ${DEFAULT_REGISTRY_URL})`))
    .addOption(new Option('--topic-prefix <prefix>', "the apps' TOPIC_PREFIX (default: $TOPIC_PREFIX, else none)"))
    .addOption(new Option('--batch-size <n>', 'records per produce request').argParser(integerIn('--batch-size', 1, 50_000)).default(2_000))
    .addOption(new Option('--lookup-concurrency <n>', 'shipments looked up on the ledger at once').argParser(integerIn('--lookup-concurrency', 1, 256)).default(16))
    .addOption(new Option('--show <n>', 'dry run: table rows besides bad rows and violations (always shown), or all; --execute lists only bad rows and violations').argParser(showCount).default(100, '100'))
    .addOption(new Option('--progress-interval <seconds>', 'without a terminal: a progress line every this many seconds').argParser(integerIn('--progress-interval', 1, 3_600)).default(2))
    .addOption(new Option('--output <format>', 'text for people, json for scripts (progress stays on stderr)').choices(['text', 'json']).default('text'))
    .addHelpText('after', IMPORT_HELP)
    .action(async (options: ImportFlags) => runImportObservations(options, io));
  return new Command('import').description('Bring facts from other systems into Waybill.').addCommand(observations);
}

const n = (x: number) => x.toLocaleString('en-US');

interface Settings {
  format: ImportFormat;
  reportedBy: string;
  ledgerUrl: string;
  apiKey: string;
  brokers: string[];
  registryUrl: string;
  topicPrefix: string;
}

function resolveSettings(options: ImportFlags, env: Record<string, string | undefined>): Settings {
  const format = options.format ?? formatOfFile(options.file);
  if (!format) throw new UsageError('--format', `cannot tell the format of ${options.file} from its name: pass --format csv or --format jsonl`);
  let user = env.USER ?? env.USERNAME;
  if (!user) {
    try {
      user = userInfo().username;
    } catch {
      user = 'unknown';
    }
  }
  const reportedBy = (options.as ?? env.WAYBILL_IMPORT_AS ?? `import:${user}`).trim();
  const asProblem = reportedBy === '' ? 'must not be blank' : textCharacterProblem(reportedBy);
  if (asProblem) throw new UsageError('--as', asProblem);
  if (options.source !== undefined) {
    const sourceProblem = options.source.trim() === '' ? 'must not be blank' : textCharacterProblem(options.source);
    if (sourceProblem) throw new UsageError('--source', sourceProblem);
  }
  const ledgerUrl = options.ledgerUrl ?? env.LEDGER_URL ?? DEFAULT_LEDGER_URL;
  if (!/^https?:\/\//.test(ledgerUrl)) throw new UsageError('--ledger-url', `"${ledgerUrl}" is not an http(s):// URL`);
  const apiKey = options.apiKey ?? env.WAYBILL_API_KEY;
  if (!apiKey) throw new UsageError('--api-key', 'the ledger needs an API key (any role) to show what it holds: set WAYBILL_API_KEY or pass --api-key');
  const brokers = (options.bootstrapServer ?? env.KAFKA_BROKERS ?? DEFAULT_BROKERS)
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (brokers.length === 0) throw new UsageError('--bootstrap-server', 'no broker address given');
  const registryUrl = options.registryUrl ?? env.SCHEMA_REGISTRY_URL ?? DEFAULT_REGISTRY_URL;
  if (!/^https?:\/\//.test(registryUrl)) throw new UsageError('--registry-url', `"${registryUrl}" is not an http(s):// URL`);
  return { format, reportedBy, ledgerUrl, apiKey, brokers, registryUrl, topicPrefix: options.topicPrefix ?? env.TOPIC_PREFIX ?? '' };
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder, not a file' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new UsageError('--file', `${file}: ${why}`);
  }
}

/** Kafka's and the registry's failures are connection problems (exit 2), said in one line. */
function asConnectionError(error: unknown, what: string): unknown {
  const e = error as Error;
  if (e instanceof SchemaRegistryError) return new ConnectionError(`the schema registry cannot be reached or refused the Observation schema (${(e.cause as Error)?.message ?? e.message})`);
  if (e?.name?.startsWith('KafkaJS')) return new ConnectionError(`${what}: ${e.message}`);
  return error;
}

async function planFromFile(options: ImportFlags, settings: Settings, io: CliIo): Promise<{ plan: ImportPlan; readSeconds: number; lookupSeconds: number }> {
  const started = performance.now();
  const text = await readText(options.file);
  let read;
  try {
    read = await readRows(text, settings.format, { reportedBy: settings.reportedBy, source: options.source });
  } catch (error) {
    if (error instanceof UnreadableFileError) throw new BadInputError(`${options.file}: ${error.message}`);
    throw error;
  }
  for (const note of read.notes) io.stderr(`note: ${note}\n`);
  const readSeconds = (performance.now() - started) / 1000;
  const ledger = { url: settings.ledgerUrl, apiKey: settings.apiKey, concurrency: options.lookupConcurrency };
  const ids = shipmentsOf(read.rows);
  const lookupStarted = performance.now();
  await checkLedger(ledger);
  const progress = countProgress(io, 'ledger look-up', 'shipments', { intervalMs: options.progressInterval * 1000, quiet: ids.length === 0 });
  const known = await knownShipments({ ...ledger, onProgress: (done, total) => progress.update(done, total) }, ids);
  progress.stop(ids.length, ids.length);
  const lookupSeconds = (performance.now() - lookupStarted) / 1000;
  return { plan: planImport(read.rows, known), readSeconds, lookupSeconds };
}

async function runImportObservations(options: ImportFlags, io: CliIo): Promise<void> {
  const settings = resolveSettings(options, io.env);
  const started = performance.now();
  const { plan, readSeconds, lookupSeconds } = await planFromFile(options, settings, io);
  const s = plan.summary;
  const refused = s.bad > 0 && options.onBadRow === 'refuse';
  const header = `${options.file} (${settings.format}): ${n(s.rows)} row(s), reported by ${settings.reportedBy}; each shipment's state as the ledger at ${settings.ledgerUrl} holds it, then the file's rows in order`;
  const { shown, hidden } = rowsToShow(plan.rows, options.execute ? 0 : options.show);
  const table = () => (shown.length ? `${planTable(shown)}\n` : '') + (hidden ? `… and ${n(hidden)} more row(s) without a problem (--show all to list them)\n` : '');

  if (!options.execute) {
    if (options.output === 'json') io.stdout(`${JSON.stringify(planToJson(plan, { file: options.file, format: settings.format, reportedBy: settings.reportedBy, executed: false, rowsShown: shown.length }, shown), null, 2)}\n`);
    else io.stdout(`${header}\n${table()}${summaryLines(s).join('\n')}\ndry run: nothing produced; add --execute to produce ${n(s.toRecord + (options.resend ? s.alreadyRecorded : 0))} row(s)\n`);
    if (refused) throw new BadInputError(`${n(s.bad)} bad row(s): --execute would refuse the whole file (fix them, or add --on-bad-row skip to import the rest)`);
    return;
  }

  if (refused) {
    if (options.output === 'text') io.stdout(`${header}\n${table()}${summaryLines(s).join('\n')}\n`);
    throw new BadInputError(`refused: ${n(s.bad)} bad row(s) (lines ${badLines(plan)}); nothing was produced (fix them, or add --on-bad-row skip to import the rest)`);
  }
  const toProduce: Observation[] = plan.rows
    .filter((row) => row.verdict === 'record' || (options.resend && row.verdict === 'already-recorded'))
    .map((row) => row.observation as Observation);
  const kafka = cliKafka(settings.brokers);
  const topic = prefixedTopics(settings.topicPrefix).shipmentObservations;
  const admin = kafka.admin();
  try {
    await admin.connect();
    const topics = await admin.listTopics();
    if (!topics.includes(topic)) throw new ConnectionError(`topic ${topic} does not exist on ${settings.brokers.join(',')} (wrong --topic-prefix, or the stack has not created it)`);
  } catch (error) {
    throw asConnectionError(error, `Kafka at ${settings.brokers.join(',')} cannot be reached`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  const serde = createSerde({ registry: kafkajsRegistryClient(settings.registryUrl) });
  let messages;
  try {
    messages = await encodeObservations(serde, toProduce);
  } catch (error) {
    throw asConnectionError(error, 'encoding');
  }
  const progress = countProgress(io, 'import observations', 'rows', { intervalMs: options.progressInterval * 1000, quiet: messages.length === 0 });
  let result;
  try {
    result = await produceMessages(kafka, messages, { topic, batchSize: options.batchSize, onProgress: (done, total) => progress.update(done, total) });
    progress.stop(result.produced, messages.length);
  } catch (error) {
    const acknowledged = error instanceof ProduceFailedError ? error.acknowledged : 0;
    progress.stop(acknowledged, messages.length);
    const cause = error instanceof ProduceFailedError ? error.cause : error;
    const failure = asConnectionError(cause, `producing to ${topic} failed after ${n(acknowledged)} of ${n(messages.length)} row(s) were acknowledged (running the import again is safe: each fact is recorded once)`);
    throw failure;
  }
  const totalSeconds = (performance.now() - started) / 1000;
  const rate = result.seconds > 0 ? Math.round(result.produced / result.seconds) : result.produced;
  const timings = { readSeconds: round(readSeconds), lookupSeconds: round(lookupSeconds), produceSeconds: round(result.seconds), totalSeconds: round(totalSeconds) };
  if (options.output === 'json') {
    io.stdout(`${JSON.stringify({ ...planToJson(plan, { file: options.file, format: settings.format, reportedBy: settings.reportedBy, executed: true, topic, rowsShown: shown.length }, shown), produced: result.produced, rowsPerSecond: rate, timings }, null, 2)}\n`);
    return;
  }
  const skipped = s.bad > 0 ? `; ${n(s.bad)} bad row(s) skipped (lines ${badLines(plan)})` : '';
  io.stdout(
    [
      header,
      ...(shown.length ? [planTable(shown)] : []),
      ...summaryLines(s),
      `produced ${n(result.produced)} row(s) to ${topic}${skipped}`,
      `elapsed ${totalSeconds.toFixed(2)} s (read ${readSeconds.toFixed(2)} s, ledger look-up ${lookupSeconds.toFixed(2)} s, produce ${result.seconds.toFixed(2)} s: ${n(rate)} rows/s); ${n(Math.round(s.rows / Math.max(totalSeconds, 0.001)))} rows/s overall`,
      '',
    ].join('\n'),
  );
}

const round = (x: number) => Math.round(x * 1000) / 1000;

function badLines(plan: ImportPlan): string {
  const lines = plan.rows.filter((r) => r.verdict === 'bad').map((r) => r.line);
  return lines.length > 20 ? `${lines.slice(0, 20).join(', ')}, …` : lines.join(', ');
}
