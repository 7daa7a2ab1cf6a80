import type { MemoryKeyspace } from './writes';

/**
 * The Redis read commands `LedgerReader` sends, in the shapes it sends them. ioredis's client is one;
 * `MemoryReads` is another, so an archived shipment's history, folded into memory from Kafka, is
 * answered by the very same reader code as one that Redis still holds.
 */
export interface ReadModelStore {
  get(key: string): Promise<string | null>;
  mget(...keys: string[]): Promise<Array<string | null>>;
  hgetall(key: string): Promise<Record<string, string>>;
  zscore(key: string, member: string): Promise<string | null>;
  zrange(key: string, start: number | string, stop: string): Promise<string[]>;
  zrange(key: string, start: number | string, stop: string, withScores: 'WITHSCORES'): Promise<string[]>;
  zrangebyscore(key: string, min: number | string, max: number | string): Promise<string[]>;
  zrangebyscore(key: string, min: number | string, max: number | string, withScores: 'WITHSCORES'): Promise<string[]>;
  zrangebyscore(key: string, min: number | string, max: number | string, limit: 'LIMIT', offset: number, count: number): Promise<string[]>;
  zrevrangebyscore(key: string, max: number | string, min: number | string, limit: 'LIMIT', offset: number, count: number): Promise<string[]>;
  zrevrangebyscore(key: string, max: number | string, min: number | string, withScores: 'WITHSCORES', limit: 'LIMIT', offset: number, count: number): Promise<string[]>;
  zrangebylex(key: string, min: string, max: string, limit: 'LIMIT', offset: number, count: number): Promise<string[]>;
  zrevrangebylex(key: string, max: string, min: string, limit: 'LIMIT', offset: number, count: number): Promise<string[]>;
}

type Bound = { value: number; exclusive: boolean };
type LexBound = { kind: 'min' | 'max' } | { kind: 'value'; value: Buffer; exclusive: boolean };

function scoreBound(raw: number | string): Bound {
  const text = String(raw);
  const exclusive = text.startsWith('(');
  const body = exclusive ? text.slice(1) : text;
  const value = body === '-inf' ? -Infinity : body === '+inf' || body === 'inf' ? Infinity : Number(body);
  if (Number.isNaN(value)) throw new Error(`not a score bound: ${text}`);
  return { value, exclusive };
}

function lexBound(raw: string): LexBound {
  if (raw === '-') return { kind: 'min' };
  if (raw === '+') return { kind: 'max' };
  if (raw.startsWith('(') || raw.startsWith('[')) return { kind: 'value', value: Buffer.from(raw.slice(1)), exclusive: raw.startsWith('(') };
  throw new Error(`not a lex bound: ${raw}`);
}

const aboveMin = (score: number, min: Bound) => (min.exclusive ? score > min.value : score >= min.value);
const belowMax = (score: number, max: Bound) => (max.exclusive ? score < max.value : score <= max.value);

function lexAboveMin(member: Buffer, min: LexBound): boolean {
  if (min.kind !== 'value') return min.kind === 'min';
  const c = Buffer.compare(member, min.value);
  return min.exclusive ? c > 0 : c >= 0;
}

function lexBelowMax(member: Buffer, max: LexBound): boolean {
  if (max.kind !== 'value') return max.kind === 'max';
  const c = Buffer.compare(member, max.value);
  return max.exclusive ? c < 0 : c <= 0;
}

/** WITHSCORES and LIMIT offset count, in any order, as Redis takes them. */
function rangeOptions(options: ReadonlyArray<string | number>): { withScores: boolean; offset: number; count: number } {
  let withScores = false;
  let offset = 0;
  let count = -1;
  for (let i = 0; i < options.length; i += 1) {
    const option = String(options[i]).toUpperCase();
    if (option === 'WITHSCORES') withScores = true;
    else if (option === 'LIMIT') {
      offset = Number(options[i + 1]);
      count = Number(options[i + 2]);
      i += 2;
    } else throw new Error(`unsupported range option: ${option}`);
  }
  return { withScores, offset, count };
}

function window<T>(items: T[], offset: number, count: number): T[] {
  return count < 0 ? items.slice(offset) : items.slice(offset, offset + count);
}

function reply(entries: ReadonlyArray<[string, number]>, withScores: boolean): string[] {
  return withScores ? entries.flatMap(([member, score]) => [member, String(score)]) : entries.map(([member]) => member);
}

/** `ReadModelStore` over a `MemoryKeyspace`: the same answers Redis gives for the same keys. */
export class MemoryReads implements ReadModelStore {
  constructor(private readonly keyspace: MemoryKeyspace) {}

  async get(key: string): Promise<string | null> {
    return this.keyspace.get(key);
  }

  async mget(...keys: string[]): Promise<Array<string | null>> {
    return keys.map((key) => this.keyspace.get(key));
  }

  async hgetall(key: string): Promise<Record<string, string>> {
    return this.keyspace.hgetall(key);
  }

  async zscore(key: string, member: string): Promise<string | null> {
    const score = this.keyspace.zscore(key, member);
    return score === undefined ? null : String(score);
  }

  async zrange(key: string, start: number | string, stop: string, ...options: Array<'WITHSCORES'>): Promise<string[]> {
    const entries = this.keyspace.zrange(key);
    const from = Number(start) < 0 ? Math.max(0, entries.length + Number(start)) : Number(start);
    const to = Number(stop) < 0 ? entries.length + Number(stop) : Number(stop);
    return reply(entries.slice(from, to + 1), options.length > 0);
  }

  async zrangebyscore(key: string, min: number | string, max: number | string, ...options: Array<string | number>): Promise<string[]> {
    const [lo, hi, { withScores, offset, count }] = [scoreBound(min), scoreBound(max), rangeOptions(options)];
    const entries = this.keyspace.zrange(key).filter(([, score]) => aboveMin(score, lo) && belowMax(score, hi));
    return reply(window(entries, offset, count), withScores);
  }

  async zrevrangebyscore(key: string, max: number | string, min: number | string, ...options: Array<string | number>): Promise<string[]> {
    const [lo, hi, { withScores, offset, count }] = [scoreBound(min), scoreBound(max), rangeOptions(options)];
    const entries = this.keyspace.zrange(key).filter(([, score]) => aboveMin(score, lo) && belowMax(score, hi)).reverse();
    return reply(window(entries, offset, count), withScores);
  }

  async zrangebylex(key: string, min: string, max: string, ...options: Array<string | number>): Promise<string[]> {
    const [lo, hi, { offset, count }] = [lexBound(min), lexBound(max), rangeOptions(options)];
    const entries = this.keyspace.zrange(key).filter(([member]) => lexAboveMin(Buffer.from(member), lo) && lexBelowMax(Buffer.from(member), hi));
    return reply(window(entries, offset, count), false);
  }

  async zrevrangebylex(key: string, max: string, min: string, ...options: Array<string | number>): Promise<string[]> {
    const [lo, hi, { offset, count }] = [lexBound(min), lexBound(max), rangeOptions(options)];
    const entries = this.keyspace.zrange(key).filter(([member]) => lexAboveMin(Buffer.from(member), lo) && lexBelowMax(Buffer.from(member), hi)).reverse();
    return reply(window(entries, offset, count), false);
  }
}
