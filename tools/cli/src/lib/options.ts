import { InvalidArgumentError } from 'commander';
import { AbortedError, UsageError } from '../errors';
import type { CliIo } from './cli-io';
import { parseInteger } from './reset-spec';

/** A commander argParser for a whole number within [min, max]. */
export function integerIn(flag: string, min: number, max: number) {
  return (value: string): number => {
    let n: number;
    try {
      n = parseInteger(flag, value, { allowNegative: false });
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message.replace(`${flag}: `, ''));
    }
    if (n < min || n > max) throw new InvalidArgumentError(`'${value}' is outside ${min}–${max}`);
    return n;
  };
}

/** SNAPSHOT_EVERY as the ledger reads it: the flag, else the environment, else 100. */
export function snapshotEveryFrom(flag: number | undefined, env: Record<string, string | undefined>): number {
  if (flag !== undefined) return flag;
  const raw = env.SNAPSHOT_EVERY;
  if (raw === undefined || raw === '') return 100;
  return integerInOrUsage('SNAPSHOT_EVERY', raw, 1, 1_000_000);
}

/** LEDGER_RETENTION_DAYS as the ledger reads it: the flag, else the environment, else the ledger's default. */
export function retentionDaysFrom(flag: number | undefined, env: Record<string, string | undefined>, fallback: number): number {
  if (flag !== undefined) return flag;
  const raw = env.LEDGER_RETENTION_DAYS;
  if (raw === undefined || raw === '') return fallback;
  return daysOrUsage('LEDGER_RETENTION_DAYS', raw);
}

/** A commander argParser for a number of days (fractions allowed), 0 … 36,500. */
export function parseDays(value: string): number {
  const days = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value.trim()) || days > 36_500) throw new InvalidArgumentError(`'${value}' is not a number of days from 0 to 36500`);
  return days;
}

function daysOrUsage(name: string, raw: string): number {
  try {
    return parseDays(raw);
  } catch (error) {
    throw new UsageError(name, (error as Error).message);
  }
}

function integerInOrUsage(name: string, raw: string, min: number, max: number): number {
  try {
    return integerIn(name, min, max)(raw);
  } catch (error) {
    throw new UsageError(name, (error as Error).message);
  }
}

/**
 * Destructive commands go ahead with --yes, or when the operator types "yes" on a terminal.
 * Without either (a script, a pipe) they refuse: guessing consent is not an option.
 */
export async function confirm(io: CliIo, yes: boolean | undefined, what: string): Promise<void> {
  if (yes) return;
  if (!io.ask) throw new UsageError('--yes', `${what}; pass --yes to go ahead (there is no terminal to ask on)`);
  const answer = await io.ask(`${what}.\nType yes to go ahead: `);
  if (answer.trim().toLowerCase() !== 'yes') throw new AbortedError('not confirmed: nothing changed');
}
