import type { Request } from 'express';
import { parseInstant, textCharacterProblem } from '@waybill/util';

/** A bad query parameter: answered 400 naming the parameter. */
export class BadParam {
  constructor(
    readonly param: string,
    readonly message: string,
  ) {}
}


/** A value no parameter or path id may hold: a control character or a lone surrogate (the rule of `@waybill/util`). */
function checkCharacters(name: string, value: string): string {
  const problem = textCharacterProblem(value);
  if (problem) throw new BadParam(name, problem);
  return value;
}

function single(req: Request, name: string): string | undefined {
  const value = req.query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new BadParam(name, 'must be given once, as a plain value');
  return checkCharacters(name, value);
}

/** The route's path ids (`:id`, `:eventId`, `:traceId`) are ids: a control character in one is a 400 naming it, not a lookup. */
export function pathIds(req: Request): void {
  for (const [name, value] of Object.entries(req.params ?? {})) if (typeof value === 'string') checkCharacters(name, value);
}

/** Every value of a repeatable parameter (`?a=1&a=2`). */
export function many(req: Request, name: string): string[] {
  const value = req.query[name];
  if (value === undefined) return [];
  const values = Array.isArray(value) ? value : [value];
  if (!values.every((v): v is string => typeof v === 'string')) throw new BadParam(name, 'must be plain values');
  for (const v of values) checkCharacters(name, v);
  return values;
}

export function text(req: Request, name: string, maxLength = 200): string | undefined {
  const value = single(req, name);
  if (value === undefined) return undefined;
  if (value.length === 0 || value.length > maxLength) throw new BadParam(name, `must be 1 to ${maxLength} characters`);
  return value;
}

export function oneOf<T extends string>(req: Request, name: string, allowed: readonly T[]): T | undefined {
  const value = single(req, name);
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new BadParam(name, `must be one of ${allowed.join(', ')}`);
  return value as T;
}

/** An ISO-8601 instant with a zone (`2025-03-01T10:00:00Z`) as epoch ms. */
export function instant(req: Request, name: string): number | undefined {
  const value = single(req, name);
  if (value === undefined) return undefined;
  const ms = parseInstant(value);
  if (ms === undefined) throw new BadParam(name, 'must be an ISO-8601 instant with a zone on a calendar that exists, e.g. 2025-03-01T10:00:00Z');
  return ms;
}

/** Like `instant`, but a missing parameter is a 400 too. */
export function requiredInstant(req: Request, name: string): number {
  const ms = instant(req, name);
  if (ms === undefined) throw new BadParam(name, 'is required (an ISO-8601 instant, e.g. 2025-03-01T10:00:00Z)');
  return ms;
}

export function limit(req: Request, fallback = 50, max = 200): number {
  const value = single(req, 'limit');
  if (value === undefined) return fallback;
  if (!/^\d{1,4}$/.test(value) || Number(value) < 1 || Number(value) > max) throw new BadParam('limit', `must be an integer from 1 to ${max}`);
  return Number(value);
}

export const iso = (ms: number): string => new Date(ms).toISOString();
