import { connect } from 'node:net';
import type { Pipeline } from '../support/pipeline';
import { key } from '../support/pipeline';

// Helpers shared by the hostile-input suites (http-fuzz, security): raw requests, the checks every
// answer must pass, and the "what was injected, what was checked" table each suite prints.

export type App = Awaited<ReturnType<Pipeline['start']>>;

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body when it is JSON; `undefined` otherwise. */
  json: any;
  /** `METHOD path` and a short note of what was sent, for failure messages. */
  request: string;
}

export interface SendOptions {
  role?: string;
  /** A literal `X-API-Key` (unknown keys, hashes as keys). */
  apiKey?: string;
  /** Serialised with JSON.stringify. */
  body?: unknown;
  /** Sent as is (malformed JSON, huge bodies). */
  rawBody?: string | Buffer;
  headers?: Record<string, string>;
  /** Leave out the JSON content type. */
  noContentType?: boolean;
}

/** One HTTP request with fetch; the body is kept as text and parsed only if it says it is JSON. */
export async function send(app: { url: string }, method: string, path: string, options: SendOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (!options.noContentType && (options.body !== undefined || options.rawBody !== undefined)) headers['content-type'] = 'application/json';
  const apiKey = options.apiKey ?? (options.role ? key(options.role) : undefined);
  if (apiKey !== undefined) headers['x-api-key'] = apiKey;
  Object.assign(headers, options.headers);
  const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const res = await fetch(`${app.url}${path}`, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  let json: any;
  if ((res.headers.get('content-type') ?? '').startsWith('application/json')) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  const shown = body === undefined ? '' : ` body=${String(body).length > 300 ? `${String(body).slice(0, 300)}… (${String(body).length} chars)` : String(body)}`;
  return { status: res.status, headers: res.headers, text, json, request: `${method} ${path.length > 300 ? `${path.slice(0, 300)}…` : path}${shown}` };
}

/**
 * What every answer must carry, whatever its status: content sniffing off, no framing, no
 * referrer, same-origin resources, a Content-Security-Policy that forbids framing, and no
 * `X-Powered-By`. (The admin page and its assets have their own, stricter-for-the-page CSP.)
 */
export const SECURITY_HEADERS: Array<[string, RegExp]> = [
  ['x-content-type-options', /^nosniff$/],
  ['x-frame-options', /^DENY$/],
  ['referrer-policy', /^no-referrer$/],
  ['cross-origin-resource-policy', /^same-origin$/],
  ['content-security-policy', /frame-ancestors 'none'/],
  ['content-security-policy', /default-src 'none'/],
];

/** Names every security header missing or wrong on an answer; empty when all are right. */
export function securityHeaderProblems(headers: Headers, options: { api?: boolean } = {}): string[] {
  const problems: string[] = [];
  for (const [name, pattern] of SECURITY_HEADERS) {
    const value = headers.get(name);
    if (value === null || !pattern.test(value)) problems.push(`${name}: ${value === null ? '(missing)' : JSON.stringify(value)} !~ ${pattern}`);
  }
  if (headers.get('x-powered-by') !== null) problems.push(`x-powered-by is set (${headers.get('x-powered-by')})`);
  // Answers with data or errors must not be kept by shared caches.
  if (options.api !== false && !/no-store/.test(headers.get('cache-control') ?? '')) problems.push(`cache-control: ${headers.get('cache-control') ?? '(missing)'} lacks no-store`);
  return problems;
}

export function expectSecurityHeaders(answer: Pick<Answer, 'headers' | 'request' | 'status'>, options: { api?: boolean } = {}): void {
  const problems = securityHeaderProblems(answer.headers, options);
  if (problems.length) throw new Error(`${answer.request} → ${answer.status}: security headers wrong:\n  ${problems.join('\n  ')}`);
}

/**
 * A clear client error: one of `statuses`, a JSON body `{ error: CODE, message }`, and the
 * security headers. Throws with the request and the answer, so a fast-check counterexample reads
 * as a bug report.
 */
/** Error codes that name one status: an answer's status and its body must agree. */
const STATUS_OF_CODE: Record<string, number> = { BAD_REQUEST: 400, UNAUTHENTICATED: 401, FORBIDDEN: 403, NOT_FOUND: 404, METHOD_NOT_ALLOWED: 405, PAYLOAD_TOO_LARGE: 413, UNSUPPORTED_MEDIA_TYPE: 415, TOO_MANY_REQUESTS: 429 };
/** An absolute path into the server's filesystem, as an fs error message quotes it. */
const FILESYSTEM_PATH = /['"(\s](\/(?:work|home|tmp|usr|var|opt|root|srv|app)\/[^\s'"]*)/;

export function expectClientError(answer: Answer, statuses: number | readonly number[], extra?: (json: any) => string | undefined): void {
  const wanted = typeof statuses === 'number' ? [statuses] : statuses;
  const fail = (why: string) => {
    throw new Error(`${answer.request}\n  → ${answer.status} ${answer.headers.get('content-type')}: ${answer.text.slice(0, 500)}\n  ${why}`);
  };
  if (!wanted.includes(answer.status)) fail(`expected ${wanted.join(' or ')}`);
  if (!(answer.headers.get('content-type') ?? '').startsWith('application/json')) fail('expected a JSON body');
  if (typeof answer.json !== 'object' || answer.json === null) fail('expected a JSON object');
  if (typeof answer.json.error !== 'string' || !/^[A-Z][A-Z_]+$/.test(answer.json.error)) fail('expected an UPPER_CASE error code in `error`');
  if (typeof answer.json.message !== 'string' || answer.json.message.length === 0) fail('expected a `message`');
  const agreed = STATUS_OF_CODE[answer.json.error];
  if (agreed !== undefined && agreed !== answer.status) fail(`error ${answer.json.error} belongs to ${agreed}, not ${answer.status}`);
  if (FILESYSTEM_PATH.test(answer.text) || answer.text.includes(process.cwd())) fail('the body names a path on the server');
  const more = extra?.(answer.json);
  if (more) fail(more);
  expectSecurityHeaders(answer);
}

/** A raw HTTP/1.1 exchange over a socket, for what fetch refuses to send (huge request lines, bad bytes). */
export function rawHttp(port: number, request: string | Buffer): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error('raw request timed out')));
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head, ...rest] = text.split('\r\n\r\n');
      const [statusLine, ...headerLines] = head.split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0);
      const headers = Object.fromEntries(headerLines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status, headers, body: rest.join('\r\n\r\n') });
    });
    socket.write(request);
    // Half-close: the server answers, then closes (Connection: close).
    socket.end();
  });
}

/** The sum of the high watermarks of a topic's partitions: how many records (and markers) it has. */
export async function topicEnd(p: Pipeline, topic: keyof Pipeline['topics']): Promise<number> {
  const offsets = await (await p.env.admin()).fetchTopicOffsets(p.topics[topic]);
  return offsets.reduce((sum, o) => sum + Number(o.high), 0);
}

/** Polls until `ok` (or throws after `timeoutMs`). */
export async function eventually<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (!ok(last)) {
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(last)?.slice(0, 300)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 150));
    last = await read();
  }
  return last;
}

/** The "what each suite injected and what it checked" table, printed when the suite ends. */
export class InjectionReport {
  private readonly rows: Array<{ area: string; injected: string; checked: string; count: number; result: string }> = [];

  constructor(private readonly title: string) {}

  add(area: string, injected: string, checked: string, count: number, result = 'pass'): void {
    this.rows.push({ area, injected, checked, count, result });
  }

  /** Runs `body`, recording its row as pass or FAIL with the count it reports. */
  async run(area: string, injected: string, checked: string, body: () => Promise<number>): Promise<void> {
    try {
      const count = await body();
      this.add(area, injected, checked, count);
    } catch (err) {
      this.add(area, injected, checked, NaN, 'FAIL');
      throw err;
    }
  }

  print(): void {
    const header = ['area', 'injected', 'checked', 'requests', 'result'];
    const rows = this.rows.map((r) => [r.area, r.injected, r.checked, Number.isNaN(r.count) ? '-' : String(r.count), r.result]);
    const widths = header.map((h, i) => Math.min(70, Math.max(h.length, ...rows.map((r) => r[i].length))));
    const wrap = (text: string, width: number) => {
      const lines: string[] = [];
      let line = '';
      for (const word of text.split(' ')) {
        if (line && (line + ' ' + word).length > width) {
          lines.push(line);
          line = word;
        } else line = line ? `${line} ${word}` : word;
      }
      lines.push(line);
      return lines;
    };
    const out: string[] = [`\n${this.title}`];
    const rule = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
    const emit = (cells: string[]) => {
      const wrapped = cells.map((c, i) => wrap(c, widths[i]));
      const height = Math.max(...wrapped.map((w) => w.length));
      for (let l = 0; l < height; l++) out.push(`| ${wrapped.map((w, i) => (w[l] ?? '').padEnd(widths[i])).join(' | ')} |`);
    };
    out.push(rule);
    emit(header);
    out.push(rule);
    for (const row of rows) emit(row);
    out.push(rule);
    const total = this.rows.reduce((s, r) => s + (Number.isNaN(r.count) ? 0 : r.count), 0);
    out.push(`${total} requests; ${this.rows.filter((r) => r.result !== 'pass').length} area(s) failed\n`);
    process.stderr.write(`${out.join('\n')}\n`);
  }
}

/**
 * Books a first charge on an account straight onto accounting.transactions, as
 * accounting-command-listener would (ids derive from `tag`), so the account exists for reads and
 * payments.
 */
export async function bookFirstCharge(p: Pipeline, accountId: string, shipmentId: string, tag: string): Promise<void> {
  const producer = p.env.kafka.producer();
  await producer.connect();
  const value = await p.serde.encode('accounting.transactions', 'TransactionRecorded', {
    eventId: `${tag}-charge-1`,
    aggregateId: accountId,
    aggregateType: 'Account',
    version: 1,
    traceId: `${tag}-trace`,
    causationId: `${tag}-cause`,
    initiatedBy: 'system',
    timestamp: Date.now(),
    data: { transactionId: `charge-${tag}-1`, accountId, kind: 'Charge', amountMinor: 7499, currency: 'EUR', reason: null, shipmentId, sourceEventId: `${tag}-cause` },
  });
  await producer.send({ topic: p.topics.accountingTransactions, messages: [{ key: accountId, value }] });
  await producer.disconnect();
}
