import type avro from 'avsc';
import { InvalidCompatibilityLevelError } from './errors';

export const COMPATIBILITY_LEVELS = [
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
  'NONE',
] as const;

/** Confluent's compatibility levels. */
export type CompatibilityLevel = (typeof COMPATIBILITY_LEVELS)[number];

export const DEFAULT_COMPATIBILITY: CompatibilityLevel = 'BACKWARD';

/** Accepts any letter case, as Confluent does; anything else is a 42203. */
export function parseCompatibilityLevel(value: unknown): CompatibilityLevel {
  const upper = typeof value === 'string' ? value.toUpperCase() : undefined;
  const level = COMPATIBILITY_LEVELS.find((l) => l === upper);
  if (!level) throw new InvalidCompatibilityLevelError(value);
  return level;
}

export function isCompatibilityLevel(value: unknown): value is CompatibilityLevel {
  return (COMPATIBILITY_LEVELS as readonly unknown[]).includes(value);
}

/** An earlier schema of the subject, in version order. */
export interface PreviousSchema {
  version: number;
  type: avro.Type;
}

export interface CompatibilityResult {
  compatible: boolean;
  messages: string[];
}

function cannotRead(reader: avro.Type, writer: avro.Type): string | undefined {
  try {
    reader.createResolver(writer);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * Decides by Avro schema resolution, never by comparing text: `reader.createResolver(writer)`
 * throws exactly when data written with `writer` cannot be read with `reader`.
 * `against` names whether to check the latest of `previous` or all of them; when `undefined`,
 * the level decides (`_TRANSITIVE` → all, otherwise the latest).
 */
export function checkCompatibility(
  candidate: avro.Type,
  previous: readonly PreviousSchema[],
  level: CompatibilityLevel,
  against?: 'latest' | 'all',
): CompatibilityResult {
  if (level === 'NONE' || previous.length === 0) return { compatible: true, messages: [] };
  const scope = against ?? (level.endsWith('_TRANSITIVE') ? 'all' : 'latest');
  const sorted = [...previous].sort((a, b) => a.version - b.version);
  const targets = scope === 'all' ? sorted : sorted.slice(-1);
  const backward = level.startsWith('BACKWARD') || level.startsWith('FULL');
  const forward = level.startsWith('FORWARD') || level.startsWith('FULL');
  const messages: string[] = [];
  for (const { version, type } of targets) {
    if (backward) {
      const why = cannotRead(candidate, type);
      if (why) messages.push(`the new schema cannot read data written with version ${version}: ${why}`);
    }
    if (forward) {
      const why = cannotRead(type, candidate);
      if (why) messages.push(`version ${version} cannot read data written with the new schema: ${why}`);
    }
  }
  return { compatible: messages.length === 0, messages };
}
