import { UsageError } from '../errors';

/**
 * What to reset each partition to. The names follow `kafka-consumer-groups --reset-offsets`
 * (KIP-122) so an operator who knows that tool knows this one.
 */
export type ResetSpec =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  /** First offset whose record timestamp is at or after `timestamp` (epoch ms). */
  | { kind: 'datetime'; timestamp: number }
  /** Like datetime, with the instant `now - durationMs`, taken when the command runs. */
  | { kind: 'duration'; durationMs: number; duration: string }
  | { kind: 'shift-by'; shift: number }
  | { kind: 'to-offset'; offset: number };

/** A `--topic` argument: a topic, and either every partition (`partitions` unset) or the listed ones. */
export interface TopicSelection {
  topic: string;
  partitions?: number[];
}

/** Kafka's legal topic names: ASCII letters, digits, '.', '_' and '-', at most 249 characters. */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/**
 * Parses `T` or `T:0,2`. Kafka splits on ':' the same way; a ':' can never be part of a topic
 * name, so there is no ambiguity.
 */
export function parseTopicSelection(value: string): TopicSelection {
  const [topic, partitionList, ...rest] = value.split(':');
  if (rest.length > 0 || !TOPIC_NAME.test(topic)) {
    throw new UsageError('--topic', `'${value}' is not a topic or topic:partition,… list (e.g. shipment.events or shipment.events:0,2)`);
  }
  if (partitionList === undefined) return { topic };
  const partitions = partitionList.split(',').map((p) => {
    if (!/^\d+$/.test(p.trim())) {
      throw new UsageError('--topic', `invalid partition '${p}' in '${value}': partitions are numbers from 0, e.g. ${topic}:0,2`);
    }
    return Number(p.trim());
  });
  return { topic, partitions: [...new Set(partitions)].sort((a, b) => a - b) };
}

/**
 * Merges repeated `--topic` arguments: `--topic T:0 --topic T:2` is `T:0,2`, and a bare `T`
 * anywhere means every partition of T.
 */
export function mergeTopicSelections(selections: readonly TopicSelection[]): TopicSelection[] {
  const byTopic = new Map<string, TopicSelection>();
  for (const selection of selections) {
    const seen = byTopic.get(selection.topic);
    if (!seen) byTopic.set(selection.topic, { ...selection });
    else if (!seen.partitions || !selection.partitions) byTopic.set(selection.topic, { topic: selection.topic });
    else seen.partitions = [...new Set([...seen.partitions, ...selection.partitions])].sort((a, b) => a - b);
  }
  return [...byTopic.values()];
}

/**
 * An offset or shift as a JS number. Offsets are int64 in Kafka, but anything past 2^53 would
 * take centuries to reach at a million records a second, so refusing it is safer than carrying
 * bigint through every layer.
 */
export function parseInteger(argument: string, value: string, options: { allowNegative: boolean }): number {
  const text = value.trim();
  const pattern = options.allowNegative ? /^[+-]?\d+$/ : /^\+?\d+$/;
  if (!pattern.test(text)) {
    const expected = options.allowNegative ? 'a whole number, negative to go back (e.g. -100)' : 'a whole number ≥ 0 (e.g. 1500)';
    throw new UsageError(argument, `'${value}' is not ${expected}`);
  }
  const parsed = Number(text);
  if (!Number.isSafeInteger(parsed)) throw new UsageError(argument, `'${value}' is too large`);
  // Normalise -0 so JSON output and comparisons never see it.
  return parsed === 0 ? 0 : parsed;
}

const DURATION =
  /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:[.,](\d{1,9}))?S)?)?$/i;

/**
 * Parses an ISO-8601 duration the way Kafka's `--by-duration` does (java.time.Duration:
 * days, hours, minutes, seconds; `PT1H`, `P1DT2H`, `PT90M`, `PT0.5S`) into milliseconds.
 * Years, months and weeks are refused rather than guessed, since months have no fixed length —
 * Java refuses them too. Signs are refused: a negative look-back would point into the future,
 * which can only ever mean "latest" and is almost certainly a typo.
 */
export function parseIsoDuration(value: string, argument = '--reset-by-duration'): number {
  const text = value.trim();
  const match = DURATION.exec(text);
  const hasTimePart = /T/i.test(text);
  const example = 'expected an ISO-8601 duration such as PT1H, PT30M, P1D or P1DT2H30M';
  if (!match || text.length === 1 || (hasTimePart && /T$/i.test(text))) {
    if (/^[+-]/.test(text)) throw new UsageError(argument, `'${value}' is negative; the duration is how far back from now to go (${example})`);
    if (/^P.*[YW]|^P[^T]*\d+M/i.test(text)) {
      throw new UsageError(argument, `'${value}' uses years, months or weeks, which have no fixed length; use days instead (e.g. P14D)`);
    }
    throw new UsageError(argument, `'${value}' is not valid: ${example}`);
  }
  const [, days, hours, minutes, seconds, fraction] = match;
  const millis = fraction ? Number(fraction.padEnd(3, '0').slice(0, 3)) : 0;
  const total =
    Number(days ?? 0) * 86_400_000 + Number(hours ?? 0) * 3_600_000 + Number(minutes ?? 0) * 60_000 + Number(seconds ?? 0) * 1000 + millis;
  if (!Number.isSafeInteger(total)) throw new UsageError(argument, `'${value}' is too long`);
  return total;
}

const DATETIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * Parses an ISO-8601 instant into epoch ms: `2026-11-24T10:00:00.000Z`,
 * `2026-11-24T11:00:00+01:00`, `2026-11-24T10:00`. Without a zone it is UTC — the same
 * rule Kafka's `--to-datetime` applies, so the same text means the same instant in both tools.
 */
export function parseIsoDatetime(value: string, argument = '--reset-to-datetime'): number {
  const text = value.trim();
  const match = DATETIME.exec(text);
  const invalid = (why: string) =>
    new UsageError(argument, `'${value}' ${why}: expected an ISO-8601 date-time such as 2026-11-24T10:00:00.000Z or 2026-11-24T11:00:00+01:00`);
  if (!match) throw invalid('is not valid');
  const [, y, mo, d, h, mi, s, fraction, zone] = match;
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s ?? '0'].map(Number);
  const millis = fraction ? Number(fraction.padEnd(3, '0').slice(0, 3)) : 0;
  const local = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  // Date.UTC rolls 2026-02-30 over into March; comparing the fields back catches such dates.
  const check = new Date(local);
  if (
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    check.getUTCHours() !== hour ||
    check.getUTCMinutes() !== minute ||
    check.getUTCSeconds() !== second
  ) {
    throw invalid('is not a real date or time');
  }
  return local - zoneOffsetMs(zone, invalid);
}

function zoneOffsetMs(zone: string | undefined, invalid: (why: string) => Error): number {
  if (!zone || zone.toUpperCase() === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
  if (hours > 18 || minutes > 59) throw invalid('has an impossible zone offset');
  return sign * (hours * 60 + minutes) * 60_000;
}

/** The spec in Kafka's own words, for messages and the JSON output. */
export function describeSpec(spec: ResetSpec): string {
  switch (spec.kind) {
    case 'earliest':
      return 'to earliest';
    case 'latest':
      return 'to latest';
    case 'datetime':
      return `to datetime ${new Date(spec.timestamp).toISOString()}`;
    case 'duration':
      return `by duration ${spec.duration}`;
    case 'shift-by':
      return `shift by ${spec.shift}`;
    case 'to-offset':
      return `to offset ${spec.offset}`;
  }
}
