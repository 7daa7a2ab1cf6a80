import fc from 'fast-check';
import { SHIPMENT_EVENT_TYPES, SHIPMENT_STATUSES } from '@waybill/shipment-domain';
import { newShipment, pipeline, type Pipeline } from '../support/pipeline';
import { bookFirstCharge, eventually, expectClientError, InjectionReport, rawHttp, send, topicEnd, type Answer, type App } from './support-security';

// Property-based fuzzing of every HTTP endpoint that takes input (bodies, path parameters, query
// parameters, Idempotency-Key / If-Match / X-Trace-Id), against the real apps on the shared test
// Kafka, Redis and registry. Every hostile request must get a clear 4xx JSON error (never a 5xx)
// with the security headers, and nothing may change: no command for a refused request, no event,
// no transaction, the read models as they were. Seeded and bounded: FUZZ_SEED / FUZZ_RUNS override.

const SEED = Number(process.env.FUZZ_SEED ?? 20_251_124);
const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const settings = (runs = RUNS) => ({ seed: SEED, numRuns: runs, endOnFailure: true, verbose: 1 as const });

const report = new InjectionReport(`http-fuzz: what was injected and what was checked (fast-check seed ${SEED}, ${RUNS} runs a property)`);

// ---------------------------------------------------------------------------------------------
// Building blocks

/** Any JSON value that is not a string. */
const nonString = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 2 }),
);
/** Strings that are empty once trimmed. */
const blank = fc.constantFrom('', ' ', '   ', '\t', '\n', '\r\n', '\u00a0', '\u3000', ' \u2003 ');
/** Strings past shipment-handler's 500-character field limit, ASCII and all of Unicode. */
const huge = fc.oneof(
  fc.string({ unit: 'binary', minLength: 501, maxLength: 2_000 }),
  fc.string({ unit: 'grapheme', minLength: 501, maxLength: 900 }),
  fc.integer({ min: 501, max: 250_000 }).map((n) => 'W'.repeat(n)),
);
/** Past accounting-handler's 200-character limit, small enough for its 64 kB body limit. */
const hugeUnder64k = fc.oneof(
  fc.string({ unit: 'binary', minLength: 201, maxLength: 1_500 }),
  fc.string({ unit: 'grapheme', minLength: 201, maxLength: 600 }),
  fc.integer({ min: 201, max: 60_000 }).map((n) => 'W'.repeat(n)),
);
/** Anything but three upper-case ASCII letters (look-alikes and full-width letters included). */
const badCurrency = fc.oneof(
  fc.constantFrom('eur', 'EURO', 'EU', '€', 'ЕUR', 'ＥＵＲ', ' EUR', 'EUR ', 'E U', 'US$', '123', 'ÉUR', 'EUR\u0000'),
  fc.string({ unit: 'binary', maxLength: 8 }).filter((s) => !/^[A-Z]{3}$/.test(s)),
  nonString,
);
const badCountry = fc.oneof(fc.constantFrom('nl', 'NLD', 'N', 'ÑL', 'Ν L', '🇳🇱', 'N1'), fc.string({ unit: 'binary', maxLength: 5 }).filter((s) => !/^[A-Z]{2}$/.test(s)), nonString);
/** Not a count from 1 to 2^31-1. */
const badCount = fc.oneof(
  fc.integer({ min: -1_000_000, max: 0 }),
  fc.double({ noInteger: true, noNaN: true, noDefaultInfinity: true }),
  fc.integer({ min: 2_147_483_648, max: Number.MAX_SAFE_INTEGER }),
  fc.constantFrom(2 ** 53, 1e21, 1e300, -1, 0.5, 1.5, '2', '1', true, null, [], {}, [1]),
);
/** Not a whole, non-negative, exactly representable number of minor units. */
const badMoney = fc.oneof(
  fc.integer({ min: -1_000_000_000_000, max: -1 }),
  fc.double({ noInteger: true, noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(2 ** 53, 2 ** 60, 1e21, 1e300, -0.5, 12.34, 0.01, '1250', '12.50', '1e3', true, null, [], {}),
);
/** Field names no schema has (prototype names included); never `initiatedBy`, which is ignored by design. */
const extraKey = (declared: readonly string[]) =>
  fc
    .oneof(
      fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'status', 'version', 'eventId', 'aggregateId', 'totalMinor', 'role', '<script>', 'sku ', 'SKU', 'Currency', ''),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }),
    )
    .filter((k) => !declared.includes(k) && k !== 'initiatedBy' && k !== 'shipmentId');
const anyJson = fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.boolean(), fc.constant(null), fc.constant([1, 2]), fc.constant({ a: { b: 1 } }));
/** Strings that are not a shipment or account id: `[A-Za-z0-9][A-Za-z0-9._-]{0,63}`. */
const badId = fc
  .oneof(
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
    fc.constantFrom('-lead', '_x', 'a b', 'a/b', 'a\\b', 'a%b', "a'b", 'a"b', '<script>', 'ü', '😀', 'A'.repeat(65), 'x'.repeat(1_000), '\u0000', 'a\u202eb', '?', '#', 'a?b=1'),
  )
  .filter((s) => !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(s) && s !== '.' && s !== '..' && wellFormed(s));
/** Header values: 1-200 visible ASCII characters are fine, everything else is not (what fetch can send). */
const badToken = fc.oneof(
  fc.constantFrom('', ' ', 'has space', 'tab\there', 'é', 'ÿÿ', 'x'.repeat(201), 'a\u00a0b'),
  fc.tuple(fc.constantFrom('k', 'key-1'), fc.constantFrom('\t', '\u0085', '\u009b', '\u0080'), fc.constantFrom('x', '2')).map(([a, b, c]) => a + b + c),
  fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c === 0x7f ? 0x20 : c)), minLength: 1, maxLength: 40 }).filter((s) => !/^[\x21-\x7e]{1,200}$/.test(s.trim())), // HTTP drops the whitespace around a value
  fc.integer({ min: 201, max: 4_000 }).map((n) => 'k'.repeat(n)),
);
const badIfMatch = fc.oneof(
  fc.constantFrom('', 'abc', '"a"', '-1', '"-1"', '1.5', '"1.5"', 'W/"x"', '9'.repeat(16), '"1" "2"', '*', '0x10'),
  fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 30 }).filter((s) => !/^(?:W\/)?"?(\d{1,15})"?$/.test(s.trim())),
);

const HEX = fc.constantFrom(...'0123456789abcdef'.split(''));
/** Lower-case hex strings (fast-check 4 has no hexaString). */
const hex = (options: { minLength: number; maxLength: number }) => fc.string({ unit: HEX, ...options });
/** No lone surrogates: they cannot be put in a URL. */
const wellFormed = (s: string) => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
/** C0 (NUL, BEL, tab, newline, ESC …), DEL and C1: refused in every id and one-line text field. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const controlChar = fc.oneof(fc.integer({ min: 0, max: 0x1f }), fc.constant(0x7f), fc.integer({ min: 0x80, max: 0x9f })).map((c) => String.fromCharCode(c));
/** Half of a surrogate pair alone: not Unicode. JSON carries it (`"\ud800"`); UTF-8 cannot, and would make it U+FFFD. */
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const plain = fc.string({ unit: fc.constantFrom(...'ABCxyz09-_'.split('')), minLength: 1, maxLength: 6 });
/** Otherwise fine text with a control character or a lone surrogate inside (or alone). */
const hostileText = fc.oneof(
  fc.tuple(plain, fc.oneof(controlChar, loneSurrogate), plain).map(([a, b, c]) => a + b + c),
  fc.tuple(plain, fc.oneof(controlChar, loneSurrogate)).map(([a, b]) => a + b),
  fc.constantFrom('ORD\u0000', 'A\u001b[2J', 'bell\u0007', 'x\r\nX-Evil: 1', 'a\tb', 'DEL\u007f', 'C1\u0085', 'CSI\u009b31m', '\ud800', 'x\udfff', '\ude00x'),
);
/** Control characters only: what a (percent-encoded) URL can carry. */
const hostileUrlText = fc.oneof(fc.tuple(plain, controlChar, plain).map(([a, b, c]) => a + b + c), fc.constantFrom('\u0000', 'a\u0000', 'x\u001b[2J', 'a\tb', 'a\nb', '\u007f', '\u0085'));
/** Header values with a tab or a C1 character inside (what fetch sends: it refuses NUL, CR and LF itself, and node's parser DEL). */
const hostileHeader = fc.oneof(
  fc.tuple(plain, fc.constantFrom('\t', ...Array.from({ length: 32 }, (_, i) => String.fromCharCode(0x80 + i))), plain).map(([a, b, c]) => a + b + c),
);
/** Bytes that are not UTF-8, inside a JSON string. */
const NOT_UTF8: Array<[string, number[]]> = [
  ['C3 28', [0xc3, 0x28]],
  ['FF', [0xff]],
  ['FE FF', [0xfe, 0xff]],
  ['C0 AF (overlong)', [0xc0, 0xaf]],
  ['ED A0 80 (a surrogate)', [0xed, 0xa0, 0x80]],
  ['F4 90 80 80 (past U+10FFFF)', [0xf4, 0x90, 0x80, 0x80]],
  ['E2 82 (cut short)', [0xe2, 0x82]],
  ['80 (a lone continuation)', [0x80]],
];

/** Sets a property as an own, enumerable data property (so `__proto__` is serialised like any key). */
function put(target: Record<string, unknown>, name: string, value: unknown): void {
  Object.defineProperty(target, name, { value, enumerable: true, configurable: true, writable: true });
}

/** The object holding `path` and the last name; `parent` is undefined when an earlier breaker removed or replaced the way there. */
function at(body: any, path: string): { parent: any; name: string } {
  const parts = path.split('.');
  let parent = body;
  for (const part of parts.slice(0, -1)) parent = typeof parent === 'object' && parent !== null ? parent[part] : undefined;
  return { parent: typeof parent === 'object' && parent !== null ? parent : undefined, name: parts[parts.length - 1] };
}

interface Mutation {
  label: string;
  apply(body: any): void;
}
const set = (path: string, kind: string, value: unknown): Mutation => ({
  label: `${path} ${kind}`,
  apply: (body) => {
    const { parent, name } = at(body, path);
    if (parent) put(parent, name, value);
  },
});
const drop = (path: string): Mutation => ({
  label: `${path} missing`,
  apply: (body) => {
    const { parent, name } = at(body, path);
    if (parent) delete parent[name];
  },
});

const TEXT = ['orderId', 'customerAccountId', 'destination.name', 'destination.street', 'destination.city', 'destination.postalCode', 'lines.0.sku', 'lines.1.sku'];
const CREATE_FIELDS = ['orderId', 'customerAccountId', 'currency', 'lines', 'destination'];
const ADDRESS_FIELDS = ['name', 'street', 'city', 'postalCode', 'country'];
const LINE_FIELDS = ['sku', 'quantity', 'unitPriceMinor'];

/** One change that alone makes a CreateShipment body invalid. */
const createBreaker: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constantFrom(...[...TEXT, 'currency', 'lines', 'destination', 'destination.country', 'lines.0.quantity', 'lines.0.unitPriceMinor'].map(drop)),
  fc.tuple(fc.constantFrom(...TEXT), nonString).map(([path, v]) => set(path, 'wrong type', v)),
  fc.tuple(fc.constantFrom(...TEXT), blank).map(([path, v]) => set(path, 'blank', v)),
  fc.tuple(fc.constantFrom(...TEXT), huge).map(([path, v]) => set(path, `huge (${v.length} chars)`, v)),
  fc.tuple(fc.constantFrom(...TEXT), hostileText).map(([path, v]) => set(path, `control character or lone surrogate ${JSON.stringify(v)}`, v)),
  badCurrency.map((v) => set('currency', 'not ISO 4217', v)),
  badCountry.map((v) => set('destination.country', 'not ISO 3166', v)),
  fc.tuple(fc.constantFrom('lines.0.quantity', 'lines.1.quantity'), badCount).map(([path, v]) => set(path, 'bad count', v)),
  fc.tuple(fc.constantFrom('lines.0.unitPriceMinor', 'lines.1.unitPriceMinor'), badMoney).map(([path, v]) => set(path, 'bad money', v)),
  fc.oneof(nonString.filter((v) => !Array.isArray(v)), fc.constant([]), fc.constant(['x']), fc.constant([null])).map((v) => set('lines', 'not a list of lines', v)),
  fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.constant([])).map((v) => set('destination', 'not an address', v)),
  fc.integer({ min: 501, max: 3_000 }).map((n) => ({
    label: `lines: ${n} lines`,
    apply: (body: any) => void (body.lines = Array.from({ length: n }, (_, i) => ({ sku: `S${i}`, quantity: 1, unitPriceMinor: 1 }))),
  })),
  fc.constant({ label: 'lines: the same sku twice', apply: (body: any) => set('lines.1.sku', 'repeated', at(body, 'lines.0.sku').parent?.sku).apply(body) }),
  fc.constant({ label: 'lines: total beyond 2^53', apply: (body: any) => set('lines.0', 'huge total', { sku: 'BIG', quantity: 2_147_483_647, unitPriceMinor: 2 ** 40 }).apply(body) }),
  fc.tuple(fc.constantFrom('', 'destination', 'lines.0'), anyJson).chain(([where, value]) =>
    extraKey(where === '' ? CREATE_FIELDS : where === 'destination' ? ADDRESS_FIELDS : LINE_FIELDS).map((name) => ({
      label: `extra field ${JSON.stringify(name)} in ${where || 'body'}`,
      apply: (body: any) => {
        const parent = where === '' ? body : at(body, `${where}.x`).parent;
        if (parent) put(parent, name, value);
      },
    })),
  ),
  badId.map((v) => set('shipmentId', 'not an id', v)),
  nonString.filter((v) => v !== null).map((v) => set('shipmentId', 'wrong type', v)),
);

/** A command body that is invalid for its type (or has no valid type at all). */
const DATA_FIELDS: Record<string, string[]> = {
  ReleaseForPicking: [],
  PickItem: ['sku', 'quantity'],
  CompletePicking: [],
  Pack: ['packageCount'],
  MarkReadyForShipping: [],
  Ship: ['carrier', 'trackingNumber'],
  ConfirmDelivery: ['receivedBy'],
  Cancel: ['reason'],
  CorrectStatus: ['toStatus', 'reason'],
};
const VALID_DATA: Record<string, Record<string, unknown>> = {
  ReleaseForPicking: {},
  PickItem: { sku: 'SKU-A', quantity: 1 },
  CompletePicking: {},
  Pack: { packageCount: 1 },
  MarkReadyForShipping: {},
  Ship: { carrier: 'DHL', trackingNumber: 'T1' },
  ConfirmDelivery: { receivedBy: 'Ada' },
  Cancel: { reason: 'customer cancelled' },
  CorrectStatus: { toStatus: 'Picking', reason: 'miscounted' },
};
const COMMAND_TYPES = Object.keys(DATA_FIELDS);
const badCommand: fc.Arbitrary<{ label: string; body: unknown }> = fc.oneof(
  fc
    .oneof(
      fc.string({ unit: 'binary', maxLength: 30 }).filter((t) => !COMMAND_TYPES.includes(t)),
      fc.constantFrom('CreateShipment', 'releaseforpicking', 'Ship ', 'StatusCorrected', 'ShipmentShipped', '__proto__'),
      nonString,
    )
    .map((type) => ({ label: `type ${JSON.stringify(type)?.slice(0, 40)}`, body: { type, data: {} } })),
  fc.constant({ label: 'type missing', body: { data: {} } }),
  fc.tuple(fc.constantFrom(...COMMAND_TYPES), fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.boolean(), fc.constant([]), fc.constant([{}]))).map(([type, data]) => ({
    label: `${type} with data ${JSON.stringify(data)}`,
    body: { type, data },
  })),
  fc.tuple(fc.constantFrom(...COMMAND_TYPES), anyJson).chain(([type, value]) =>
    extraKey(DATA_FIELDS[type]).map((name) => {
      const data = { ...VALID_DATA[type] };
      put(data, name, value);
      return { label: `${type} with extra field ${JSON.stringify(name)}`, body: { type, data } };
    }),
  ),
  fc.constantFrom('PickItem', 'Ship', 'ConfirmDelivery', 'Cancel', 'CorrectStatus').chain((type) =>
    fc.tuple(fc.constantFrom(...DATA_FIELDS[type].filter((f) => f !== 'toStatus' && f !== 'quantity')), fc.oneof(nonString, blank, huge)).map(([field, value]) => ({
      label: `${type}.${field} = ${typeof value === 'string' ? `string(${value.length})` : JSON.stringify(value)?.slice(0, 30)}`,
      body: { type, data: { ...VALID_DATA[type], [field]: value } },
    })),
  ),
  fc.constantFrom('PickItem', 'Ship', 'ConfirmDelivery', 'Cancel', 'CorrectStatus').chain((type) =>
    fc.tuple(fc.constantFrom(...DATA_FIELDS[type].filter((f) => f !== 'quantity')), hostileText).map(([field, value]) => ({
      label: `${type}.${field} = ${JSON.stringify(value)} (control character or lone surrogate)`,
      body: { type, data: { ...VALID_DATA[type], [field]: value } },
    })),
  ),
  fc.tuple(fc.constantFrom(...COMMAND_TYPES), anyJson).chain(([type, value]) =>
    extraKey(['type', 'data']).map((name) => {
      const body = { type, data: VALID_DATA[type] };
      put(body, name, value);
      return { label: `${type} with extra field ${JSON.stringify(name)} beside type and data`, body };
    }),
  ),
  fc.constantFrom('PickItem', 'Ship', 'ConfirmDelivery', 'Cancel', 'CorrectStatus', 'Pack').chain((type) =>
    fc.constantFrom(...DATA_FIELDS[type]).map((field) => {
      const data = { ...VALID_DATA[type] };
      delete data[field];
      return { label: `${type}.${field} missing`, body: { type, data } };
    }),
  ),
  fc.tuple(fc.constantFrom('PickItem.quantity', 'Pack.packageCount'), badCount).map(([path, value]) => {
    const [type, field] = path.split('.');
    return { label: `${path} = ${JSON.stringify(value)}`, body: { type, data: { ...VALID_DATA[type], [field]: value } } };
  }),
  fc.oneof(fc.string({ maxLength: 12 }), nonString).filter((s) => !(SHIPMENT_STATUSES as readonly unknown[]).includes(s)).map((toStatus) => ({
    label: `CorrectStatus.toStatus = ${JSON.stringify(toStatus)}`,
    body: { type: 'CorrectStatus', data: { toStatus, reason: 'x' } },
  })),
);

const NOT_JSON_BODIES = ['{', '{"type":', "{'type':'Cancel'}", 'null', '"just a string"', '42', 'true', '[]', '{"a":1}{"b":2}', '\u0000', '{"type":"Cancel","data":{"reason":"x"},}', 'NaN', '{"a":Infinity}'];

/** Query values that are not an ISO-8601 instant with a zone. */
const isLeap = (y: number) => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
// Calendars that do not exist, which Date.parse rolls over to another day instead of refusing.
const impossibleInstant = fc.oneof(
  fc.tuple(fc.integer({ min: 1970, max: 2100 }), fc.constantFrom(29, 30, 31)).filter(([y, d]) => d > 29 || !isLeap(y)).map(([y, d]) => `${y}-02-${d}T00:00:00Z`),
  fc.tuple(fc.integer({ min: 1970, max: 2100 }), fc.constantFrom('04', '06', '09', '11')).map(([y, m]) => `${y}-${m}-31T12:00:00Z`),
  fc.constantFrom('2026-02-30T00:00:00Z', '2025-03-01T24:00:00Z', '2025-03-01T23:60:00Z', '2025-03-01T23:59:60Z', '2025-03-01T10:00:00+24:00'),
);
const badInstant = fc.oneof(
  impossibleInstant,
  fc.constantFrom('', 'now', 'yesterday', '1', '0', '-1', '2025', '2025-03-01', '2025-03-01T10:00:00', '2025-13-01T00:00:00Z', '2025-03-01 10:00:00Z', 'March 7, 2025', 'Tue Mar 04 2025', '1741082400000', '2025-03-01T10:00:00+25:00', '2025-03-01T25:00:00Z', '+275760-09-13T00:00:00.001Z', 'Infinity', 'NaN', '2025-03-01T10:00:00ZZ'),
  fc.string({ unit: 'binary', maxLength: 30 }).filter((s) => !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(s)),
);
const badLimit = fc.oneof(
  fc.constantFrom('', '0', '-1', '201', '1.5', '1e2', ' 5', '5 ', 'ten', '0x10', '99999999999999999999', '٣'),
  fc.integer({ min: 201, max: 1e9 }).map(String),
  fc.integer({ max: 0 }).map(String),
);
/** Cursors no list ever hands out: at least one character outside base64url. */
const badCursor = fc.oneof(
  fc.constantFrom('!', 'abc=', 'a+b', 'a/b', '%%', 'ü', 'x'.repeat(513), ' '),
  fc.tuple(fc.string({ maxLength: 10 }), fc.constantFrom('!', '=', '+', '/', '~', '.', 'é', '😀'), fc.string({ maxLength: 10 })).map(([a, b, c]) => a + b + c),
);
/** Well-formed base64url that no list hands out: JSON, the shape a forger tries first. */
const forgedCursor = fc.oneof(
  fc.constant(Buffer.from('{"x":1}').toString('base64url')),
  fc.object({ maxDepth: 1 }).map((o) => Buffer.from(JSON.stringify(o)).toString('base64url')),
);
const badWaitFor = fc.oneof(
  // Partitions the topic does not have (the fuzz pipeline's topics have 4): a 400 at once, not a 504 later.
  fc.integer({ min: 4, max: 999_999_999 }).map((p) => `shipment.events:${p}:1`),
  fc.constantFrom('x', 'shipment.events', 'shipment.events:0', 'shipment.events:-1:0', 'shipment.events:0:-1', 'shipment.events:a:b', 'nope:0:0', 'shipment.commands:0:0', 'shipment.events:0:99999999999999999999', ':0:0', 'shipment.events:1234567890:0'),
  fc.array(fc.constant('shipment.events:0:0'), { minLength: 51, maxLength: 60 }).map((a) => a.join(',')),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).filter((s) => !/^(.+):(\d{1,9}):(\d{1,19})$/.test(s.trim()) && s.trim() !== '' && !s.split(',').every((x) => x.trim() === '')),
);
/** Ids nobody used: random text, URL-escaped when sent. */
const unknownId = fc
  .oneof(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }), fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }), hex({ minLength: 8, maxLength: 40 }).map((h) => `nobody-${h}`))
  .filter((s) => wellFormed(s) && !CONTROL.test(s) && s !== '.' && s !== '..' && !s.startsWith('FZ-'));
const q = (params: Record<string, string | undefined>) => {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) search.append(k, v);
  const text = search.toString();
  return text ? `?${text}` : '';
};

// ---------------------------------------------------------------------------------------------

describe('HTTP fuzzing: hostile input gets a clear 4xx and changes nothing', () => {
  let p: Pipeline;
  let handler: App;
  let accounting: App;
  let ledger: App;
  const TARGET = 'FZ-TARGET';
  const UNICODE = 'FZ-UNICODE';
  const ACCOUNT = 'ACC-FZ';
  /** Every shipment id a refused request named: none may exist afterwards. */
  const refusedIds = new Set<string>();
  /** Unknown (well-formed) ids commands were sent to: the reducer answered NOT_FOUND. */
  const unknownShipments = new Set<string>();
  let before: { events: number; transactions: number; accountingCommands: number; target: any; account: any; ledgerAccount: any; alerts: any };
  let setupCommands = 0;
  let n = 0;
  const nextId = (what: string) => `FZ-${what}-${(n++).toString(36)}`;

  beforeAll(async () => {
    p = await pipeline('http-fuzz');
    await Promise.all([p.start('shipment-reducer'), p.start('account-reducer')]);
    [handler, accounting] = await Promise.all([p.start('shipment-handler', { OUTCOME_WAIT_MS: '10000' }), p.start('accounting-handler', { OUTCOME_WAIT_MS: '500' })]);
    ledger = await p.start('ledger', { SHIPMENT_HANDLER_URL: handler.url, WAIT_FOR_TIMEOUT_MS: '300' });

    // A shipment to aim commands at, one whose text is all of Unicode (legal, and kept exactly), and
    // an account with one charge (booked the way accounting-command-listener would).
    expect((await send(handler, 'POST', '/shipments', { role: 'associate', body: newShipment(TARGET) })).status).toBe(201);
    const unicode = { ...newShipment(UNICODE), orderId: 'ORD-ünï-😀', destination: { name: 'Zoë 山田 🚚', street: 'Straße 1 ‮x', city: 'Þórshöfn', postalCode: '۱۲۳', country: 'FO' } };
    expect((await send(handler, 'POST', '/shipments', { role: 'associate', body: unicode })).status).toBe(201);
    setupCommands = 2;
    await bookFirstCharge(p, ACCOUNT, TARGET, 'fz');

    const stored = await eventually('the ledger reflects the Unicode shipment', () => send(ledger, 'GET', `/shipments/${UNICODE}`, { role: 'viewer' }), (a) => a.status === 200);
    expect(stored.json.orderId).toBe(unicode.orderId);
    expect(stored.json.state.destination).toEqual(unicode.destination);
    const target = await eventually('the ledger reflects the target', () => send(ledger, 'GET', `/shipments/${TARGET}`, { role: 'viewer' }), (a) => a.status === 200);
    const account = await eventually('account-reducer reflects the charge', () => send(accounting, 'GET', `/accounts/${ACCOUNT}`, { role: 'finance' }), (a) => a.status === 200);
    const ledgerAccount = await eventually('the ledger reflects the charge', () => send(ledger, 'GET', `/accounts/${ACCOUNT}`, { role: 'finance' }), (a) => a.status === 200);
    before = {
      events: await topicEnd(p, 'shipmentEvents'),
      transactions: await topicEnd(p, 'accountingTransactions'),
      accountingCommands: await topicEnd(p, 'accountingCommands'),
      target: target.json,
      account: account.json,
      ledgerAccount: ledgerAccount.json,
      alerts: (await send(ledger, 'GET', '/alerts', { role: 'viewer' })).json.items,
    };
    report.add('setup', 'a shipment, a shipment whose text is all of Unicode, an account charge', 'Unicode text kept exactly (ledger shows the same orderId and address)', 2);
  }, 180_000);

  afterAll(async () => {
    report.print();
    await p?.close();
  });

  it('POST /shipments: invalid bodies (1 to 3 breakers each) get 400 VALIDATION naming a field', async () => {
    await report.run('POST /shipments', 'missing/extra/`__proto__` fields, wrong types, blank, huge and Unicode strings, look-alike currency/country, negative/fractional/huge money and counts, 0 or 3000 lines, bad ids', '400 VALIDATION with fieldErrors, JSON, headers; the id never exists', async () => {
      let count = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(createBreaker, { minLength: 1, maxLength: 3 }), fc.constantFrom('associate', 'team-lead', 'supervisor'), async (breakers, role) => {
          const id = nextId('C');
          const body: any = structuredClone(newShipment(id));
          for (const b of breakers) b.apply(body);
          if (typeof body.shipmentId === 'string') refusedIds.add(body.shipmentId);
          const answer = await send(handler, 'POST', '/shipments', { role, body });
          count++;
          expectClientError(answer, 400, (json) => (json.error === 'VALIDATION' && Array.isArray(json.fieldErrors) && json.fieldErrors.length > 0 ? undefined : `expected VALIDATION with fieldErrors (${breakers.map((b) => b.label).join('; ')})`));
        }),
        settings(RUNS * 2),
      );
      return count;
    });
  });

  it('POST /shipments/:id/commands: invalid types and data, bad ids, bad If-Match / Idempotency-Key / X-Trace-Id get 400', async () => {
    await report.run('POST /shipments/:id/commands', 'unknown/absent types, data of the wrong type, extra and `__proto__` fields, blank/huge/typed-wrong fields, bad counts and statuses; ids with Unicode, slashes, 1000 chars; bad If-Match, Idempotency-Key, X-Trace-Id on a valid command', '400 VALIDATION, JSON, headers; the target keeps its version', async () => {
      let count = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            badCommand.map((c) => ({ ...c, id: TARGET, headers: {} as Record<string, string> })),
            badId.map((id) => ({ label: `id ${JSON.stringify(id).slice(0, 40)}`, body: { type: 'Cancel', data: { reason: 'x' } } as unknown, id, headers: {} as Record<string, string> })),
            fc.tuple(fc.constantFrom('if-match', 'idempotency-key', 'x-trace-id'), fc.constantFrom(...COMMAND_TYPES)).chain(([header, type]) =>
              (header === 'if-match' ? badIfMatch : badToken).map((value) => ({ label: `${header}: ${JSON.stringify(value).slice(0, 40)}`, body: { type, data: VALID_DATA[type] } as unknown, id: TARGET, headers: { [header]: value } })),
            ),
          ),
          async ({ label, body, id, headers }) => {
            const answer = await send(handler, 'POST', `/shipments/${encodeURIComponent(id)}/commands`, { role: 'supervisor', body, headers });
            count++;
            expectClientError(answer, 400, (json) => (json.error === 'VALIDATION' ? undefined : `expected VALIDATION (${label})`));
          },
        ),
        settings(RUNS * 2),
      );
      return count;
    });
  });

  it('commands to unknown shipments get 404 NOT_FOUND from the reducer and create nothing; unknown command ids 404', async () => {
    await report.run('unknown shipment / command ids', 'well-formed ids nobody created, with every valid command; random command ids', '404 NOT_FOUND (reducer answer), JSON, headers; no event for the id', async () => {
      let count = 0;
      await fc.assert(
        fc.asyncProperty(hex({ minLength: 6, maxLength: 20 }), fc.constantFrom(...COMMAND_TYPES.filter((t) => t !== 'CorrectStatus')), async (hex, type) => {
          const id = `UNKNOWN-${hex}-${(n++).toString(36)}`;
          unknownShipments.add(id);
          const answer = await send(handler, 'POST', `/shipments/${id}/commands`, { role: 'team-lead', body: { type, data: VALID_DATA[type] } });
          count++;
          expectClientError(answer, 404, (json) => (json.error === 'NOT_FOUND' && json.status === 'rejected' ? undefined : 'expected a NOT_FOUND rejection'));
        }),
        settings(Math.ceil(RUNS / 3)),
      );
      await fc.assert(
        fc.asyncProperty(unknownId, async (id) => {
          const answer = await send(handler, 'GET', `/commands/${encodeURIComponent(id)}`, { role: 'viewer' });
          count++;
          expectClientError(answer, 404);
        }),
        settings(Math.ceil(RUNS / 2)),
      );
      return count;
    });
  });

  it('accounting-handler: invalid payments and adjustments get 400; bad ids 400; unknown ids 404', async () => {
    const moneyBreaker = fc.oneof(
      badMoney.filter((v) => typeof v !== 'number' || !Number.isSafeInteger(v) || (v as number) <= 0).map((v) => ({ label: `amountMinor ${JSON.stringify(v)}`, patch: { amountMinor: v } })),
      fc.constant({ label: 'amountMinor missing', patch: { amountMinor: undefined } }),
      fc.constantFrom(0, -0, -1, -5000).map((v) => ({ label: `payment of ${v}`, patch: { amountMinor: v } })),
      badCurrency.map((v) => ({ label: `currency ${JSON.stringify(v)}`, patch: { currency: v } })),
      fc.constant({ label: 'currency missing', patch: { currency: undefined } }),
      fc.oneof(nonString.filter((v) => v !== null), blank, hugeUnder64k).map((v) => ({ label: `reference ${typeof v === 'string' ? `string(${v.length})` : JSON.stringify(v)}`, patch: { reference: v } })),
      fc.tuple(extraKey(['amountMinor', 'currency', 'reference', 'reason']), anyJson).map(([k, v]) => ({ label: `extra field ${JSON.stringify(k)}`, patch: { [k]: v }, extra: k })),
      hostileText.map((v) => ({ label: `reference ${JSON.stringify(v)} (control character or lone surrogate)`, patch: { reference: v } })),
    );
    const adjustmentBreaker = fc.oneof(
      fc.constantFrom(0, 0.5, -0.5, 2 ** 53, -(2 ** 53), 1e21, '100', null, true).map((v) => ({ label: `amountMinor ${JSON.stringify(v)}`, patch: { amountMinor: v } as Record<string, unknown> })),
      fc.constant({ label: 'reason missing', patch: { reason: undefined } as Record<string, unknown> }),
      fc.oneof(nonString.filter((v) => v !== null), blank, hugeUnder64k).map((v) => ({ label: `reason ${typeof v === 'string' ? `string(${v.length})` : JSON.stringify(v)}`, patch: { reason: v } as Record<string, unknown> })),
      fc.constant({ label: 'a reference (payments only)', patch: { reference: 'x' } as Record<string, unknown> }),
      fc.tuple(extraKey(['amountMinor', 'currency', 'reason']), anyJson).map(([k, v]) => ({ label: `extra field ${JSON.stringify(k)}`, patch: { [k]: v } as Record<string, unknown> })),
      hostileText.map((v) => ({ label: `reason ${JSON.stringify(v)} (control character or lone surrogate)`, patch: { reason: v } as Record<string, unknown> })),
    );
    const build = (base: Record<string, unknown>, patch: Record<string, unknown>) => {
      const body: Record<string, unknown> = { ...base };
      for (const [k, v] of Object.entries(patch)) {
        if (v === undefined) delete body[k];
        else put(body, k, v);
      }
      return body;
    };
    await report.run('POST /accounts/:id/payments, /adjustments', 'negative/zero/fractional/2^53/1e21/string amounts, bad currencies, blank/huge/typed-wrong reference and reason, extra and `__proto__` fields, non-object bodies, bad account ids, bad Idempotency-Key / X-Trace-Id', '400 VALIDATION, JSON, headers; no accounting command', async () => {
      let count = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            moneyBreaker.map((b) => ({ label: `payment: ${b.label}`, path: `/accounts/${ACCOUNT}/payments`, body: build({ amountMinor: 1000, currency: 'EUR', reference: 'INV-1' }, b.patch) as unknown, headers: {} as Record<string, string> })),
            adjustmentBreaker.map((b) => ({ label: `adjustment: ${b.label}`, path: `/accounts/${ACCOUNT}/adjustments`, body: build({ amountMinor: -250, currency: 'EUR', reason: 'goodwill' }, b.patch) as unknown, headers: {} as Record<string, string> })),
            badId.map((id) => ({ label: `account id ${JSON.stringify(id).slice(0, 40)}`, path: `/accounts/${encodeURIComponent(id)}/payments`, body: { amountMinor: 1000, currency: 'EUR' } as unknown, headers: {} as Record<string, string> })),
            fc.tuple(fc.constantFrom('idempotency-key', 'x-trace-id'), badToken).map(([h, v]) => ({ label: `${h} ${JSON.stringify(v).slice(0, 30)}`, path: `/accounts/${ACCOUNT}/payments`, body: { amountMinor: 1000, currency: 'EUR' } as unknown, headers: { [h]: v } })),
            fc.constantFrom([], [1], 'x', 5, null).map((body) => ({ label: `body ${JSON.stringify(body)}`, path: `/accounts/${ACCOUNT}/payments`, body: body as unknown, headers: {} as Record<string, string> })),
          ),
          async ({ label, path, body, headers }) => {
            const answer = await send(accounting, 'POST', path, { role: 'finance', body, headers });
            count++;
            expectClientError(answer, 400, (json) => (['VALIDATION', 'INVALID_JSON'].includes(json.error) ? undefined : `expected VALIDATION (${label})`));
          },
        ),
        settings(RUNS * 2),
      );
      return count;
    });
  });

  it('accounting-handler reads: bad asOf, limit and cursor get 400; unknown accounts and commands 404', async () => {
    await report.run('GET /accounts/:id[, /transactions], /commands/:id (accounting)', 'asOf that is not an ISO instant with a zone, bad limit and cursor; invalid and unknown account ids; random command ids', '400 naming the parameter / 404, JSON, headers', async () => {
      let count = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            badInstant.map((asOf) => ({ path: `/accounts/${ACCOUNT}${q({ asOf })}`, status: 400 })),
            // accounting-handler pages up to 500 (the ledger up to 200).
            fc.oneof(badLimit.filter((l) => !/^\d+$/.test(l) || Number(l) < 1 || Number(l) > 500), fc.integer({ min: 501, max: 1e9 }).map(String)).map((limit) => ({ path: `/accounts/${ACCOUNT}/transactions${q({ limit })}`, status: 400 })),
            fc.constantFrom('', '0', '-1', 'abc', '1.5', ' 5', '1e2', '0x10', '99999999999999999999', '٣').map((cursor) => ({ path: `/accounts/${ACCOUNT}/transactions${q({ cursor })}`, status: 400 })),
            badId.map((id) => ({ path: `/accounts/${encodeURIComponent(id)}`, status: 400 })),
            badId.map((id) => ({ path: `/accounts/${encodeURIComponent(id)}/transactions`, status: 400 })),
            hex({ minLength: 4, maxLength: 30 }).map((h) => ({ path: `/accounts/NOBODY-${h}`, status: 404 })),
            hex({ minLength: 4, maxLength: 30 }).map((h) => ({ path: `/accounts/NOBODY-${h}/transactions`, status: 404 })),
            unknownId.map((id) => ({ path: `/commands/${encodeURIComponent(id)}`, status: 404 })),
          ),
          async ({ path, status }) => {
            const answer = await send(accounting, 'GET', path, { role: 'viewer' });
            count++;
            expectClientError(answer, status);
          },
        ),
        settings(RUNS * 2),
      );
      return count;
    });
  });

  it('ledger reads: bad query parameters get 400 naming the parameter; unknown ids 404', async () => {
    const LIST = ['/shipments', '/events', '/alerts', `/accounts/${ACCOUNT}/transactions`, '/stats/status-counts', `/shipments/${TARGET}`, `/shipments/${TARGET}/events`, `/traces/fz-trace`];
    const badParam: fc.Arbitrary<{ path: string; param: string }> = fc.oneof(
      fc.tuple(fc.constantFrom('/shipments', '/events', '/alerts', `/accounts/${ACCOUNT}/transactions`), badLimit).map(([path, limit]) => ({ path: `${path}${q({ limit })}`, param: 'limit' })),
      fc.tuple(fc.constantFrom('/shipments', '/events', '/alerts', `/accounts/${ACCOUNT}/transactions`), fc.oneof(badCursor, forgedCursor)).map(([path, cursor]) => ({ path: `${path}${q({ cursor })}`, param: 'cursor' })),
      fc.string({ maxLength: 20 }).filter((s) => !(SHIPMENT_STATUSES as readonly string[]).includes(s)).map((status) => ({ path: `/shipments${q({ status })}`, param: 'status' })),
      fc.oneof(fc.constant(''), fc.string({ minLength: 101, maxLength: 400 })).map((qq) => ({ path: `/shipments${q({ q: qq })}`, param: 'q' })),
      fc.string({ maxLength: 20 }).filter((s) => !(SHIPMENT_EVENT_TYPES as readonly string[]).includes(s)).map((type) => ({ path: `/events${q({ type })}`, param: 'type' })),
      fc.oneof(fc.constant(''), fc.string({ minLength: 201, maxLength: 400 })).map((who) => ({ path: `/events${q({ initiatedBy: who })}`, param: 'initiatedBy' })),
      fc.tuple(fc.constantFrom('from', 'to'), badInstant).map(([name, v]) => ({ path: `/events${q({ [name]: v })}`, param: name })),
      fc.constant({ path: `/events${q({ from: '2025-03-02T00:00:00Z', to: '2025-03-01T00:00:00Z' })}`, param: 'to' }),
      badInstant.map((asOf) => ({ path: `/shipments/${TARGET}${q({ asOf })}`, param: 'asOf' })),
      badInstant.map((asOf) => ({ path: `/shipments/NOBODY${q({ asOf })}`, param: 'asOf' })),
      fc.tuple(fc.constantFrom('from', 'to'), badInstant).map(([name, v]) => ({ path: `/shipments/${TARGET}/diff${q({ from: '2025-03-01T00:00:00Z', to: '2025-03-02T00:00:00Z', [name]: v })}`, param: name })),
      fc.constantFrom('from', 'to').map((missing) => ({ path: `/shipments/${TARGET}/diff${q({ from: missing === 'from' ? undefined : '2025-03-01T00:00:00Z', to: missing === 'to' ? undefined : '2025-03-01T00:00:00Z' })}`, param: missing })),
      fc.tuple(fc.constantFrom(...LIST), badWaitFor).map(([path, waitFor]) => ({ path: `${path}${path.includes('?') ? '&' : '?'}${q({ waitFor }).slice(1)}`, param: 'waitFor' })),
      fc.constantFrom(['/shipments', 'limit'], ['/shipments', 'cursor'], ['/shipments', 'status'], [`/shipments/${TARGET}`, 'asOf'], ['/events', 'from']).map(([path, name]) => ({
        path: `${path}?${name}=1&${name}=2`,
        param: name,
      })),
      fc.constantFrom('limit', 'status', 'q').map((name) => ({ path: `/shipments?${name}[a]=1`, param: name })),
    );
    await report.run('ledger GET query API', 'bad limit/cursor/status/q/type/initiatedBy/from/to/asOf/waitFor (garbage, no zone, out of range, repeated, nested), from after to', '400 BAD_REQUEST naming `param`, JSON, headers', async () => {
      let count = 0;
      await fc.assert(
        fc.asyncProperty(badParam, fc.constantFrom('viewer', 'associate', 'team-lead', 'supervisor', 'finance'), async ({ path, param }, role) => {
          const answer = await send(ledger, 'GET', path, { role });
          count++;
          expectClientError(answer, 400, (json) => (json.param === param ? undefined : `expected param ${param}, got ${json.param}`));
        }),
        settings(RUNS * 3),
      );
      return count;
    });
    await report.run('ledger admin assets', 'missing files, encoded and double-encoded traversals, the folder itself', '404 NOT_FOUND, 403 FORBIDDEN or 400 BAD_REQUEST (a NUL byte), status and code agreeing, no path of the server in the body', async () => {
      const paths = ['nope.js', '%252e%252e%252fpackage.json', '..%2f..%2fpackage.json', '%2e%2e%2f%2e%2e%2fpackage.json', '....//....//package.json', '%00.js', ''];
      for (const path of paths) expectClientError(await send(ledger, 'GET', `/admin/assets/${path}`), [400, 403, 404]);
      return paths.length;
    });
    await report.run('ledger GET by id', 'unknown ids (Unicode, control characters, slashes, 200 chars) on every :id route', '404 NOT_FOUND, JSON, headers', async () => {
      let count = 0;
      await fc.assert(
        fc.asyncProperty(unknownId, fc.constantFrom('/shipments/{}', '/shipments/{}/events', '/events/{}', '/traces/{}', '/accounts/{}', '/accounts/{}/transactions', '/shipments/{}/diff?from=2025-03-01T00:00:00Z&to=2025-03-02T00:00:00Z', '/shipments/{}?asOf=2025-03-01T00:00:00Z'), async (id, route) => {
          const answer = await send(ledger, 'GET', route.replace('{}', encodeURIComponent(id)), { role: 'viewer' });
          count++;
          expectClientError(answer, 404);
        }),
        settings(RUNS * 2),
      );
      return count;
    });
  });

  it('ledger writes: acknowledging unknown alerts 404; the admin correct-status proxy passes on 400/404', async () => {
    await report.run('POST /alerts/:id/ack, /admin/api/shipments/:id/correct-status', 'unknown alert ids and bodies on ack; invalid toStatus/reason (wrong type, blank, huge), unknown fields beside a valid correction, bad and unknown shipment ids on the correction proxy', '404 / 400 JSON with headers; no acknowledgement, no correction', async () => {
      let count = 0;
      await fc.assert(
        fc.asyncProperty(unknownId, anyJson, async (id, body) => {
          const answer = await send(ledger, 'POST', `/alerts/${encodeURIComponent(id)}/ack`, { role: 'team-lead', body: { by: 'mallory', id: body } });
          count++;
          expectClientError(answer, 404);
        }),
        settings(RUNS),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.oneof(fc.string({ maxLength: 12 }), nonString).filter((s) => !(SHIPMENT_STATUSES as readonly unknown[]).includes(s)).map((toStatus) => ({ id: TARGET, body: { toStatus, reason: 'x' } as unknown, status: 400 })),
            fc.oneof(nonString, blank, huge).map((reason) => ({ id: TARGET, body: { toStatus: 'Cancelled', reason } as unknown, status: 400 })),
            fc.constantFrom([], 'x', 5, {}).map((body) => ({ id: TARGET, body: body as unknown, status: 400 })),
            // A valid correction with a field a CorrectStatus does not have: refused (never dropped and the correction applied).
            fc.tuple(extraKey(['toStatus', 'reason']), anyJson).map(([name, value]) => {
              const body: Record<string, unknown> = { toStatus: 'Cancelled', reason: 'x' };
              put(body, name, value);
              return { id: TARGET, body: body as unknown, status: 400, field: name };
            }),
            badId.map((id) => ({ id, body: { toStatus: 'Cancelled', reason: 'x' } as unknown, status: 400 })),
            hex({ minLength: 4, maxLength: 12 }).map((h) => ({ id: `UNKNOWN-P-${h}-${(n++).toString(36)}`, body: { toStatus: 'Cancelled', reason: 'x' } as unknown, status: 404 })),
          ),
          async ({ id, body, status, ...more }) => {
            if (status === 404) unknownShipments.add(id);
            const answer = await send(ledger, 'POST', `/admin/api/shipments/${encodeURIComponent(id)}/correct-status`, { role: 'supervisor', body });
            count++;
            const field = (more as { field?: string }).field;
            expectClientError(answer, status, (json) =>
              field === undefined || (json.error === 'VALIDATION' && json.fieldErrors?.some((f: { field: string }) => f.field === field)) ? undefined : `expected VALIDATION naming the unknown field ${JSON.stringify(field)}`,
            );
          },
        ),
        settings(RUNS),
      );
      return count;
    });
  });

  it('control characters and lone surrogates in every id, text field, header and query parameter get 400 naming it', async () => {
    type Probe = { label: string; app: App; method: string; path: string; role: string; body?: unknown; headers?: Record<string, string>; names: string; ledgerParam?: boolean };
    const CREATE_TEXT = ['shipmentId', ...TEXT];
    const fieldOf = (path: string) => path.replace(/\.(\d+)(?=\.|$)/g, '[$1]');
    const probe: fc.Arbitrary<Probe> = fc.oneof(
      fc.tuple(fc.constantFrom(...CREATE_TEXT), hostileText).map(([path, v]) => {
        const body: any = structuredClone(newShipment(nextId('H')));
        set(path, 'hostile', v).apply(body);
        if (path !== 'shipmentId') refusedIds.add(body.shipmentId);
        return { label: `create ${path} = ${JSON.stringify(v)}`, app: handler, method: 'POST', path: '/shipments', role: 'associate', body, names: fieldOf(path) };
      }),
      fc.constantFrom('PickItem', 'Ship', 'ConfirmDelivery', 'Cancel', 'CorrectStatus').chain((type) =>
        fc.tuple(fc.constantFrom(...DATA_FIELDS[type].filter((f) => f !== 'quantity' && f !== 'toStatus')), hostileText).map(([field, v]) => ({
          label: `${type}.${field} = ${JSON.stringify(v)}`,
          app: handler,
          method: 'POST',
          path: `/shipments/${TARGET}/commands`,
          role: 'supervisor',
          body: { type, data: { ...VALID_DATA[type], [field]: v } },
          names: field,
        })),
      ),
      fc.tuple(fc.constantFrom('idempotency-key', 'x-trace-id'), hostileHeader, fc.constantFrom<[App, string, string, unknown]>([handler, `/shipments/${TARGET}/commands`, 'supervisor', { type: 'Cancel', data: { reason: 'x' } }], [accounting, `/accounts/${ACCOUNT}/payments`, 'finance', { amountMinor: 5, currency: 'EUR' }])).map(([header, v, [app, path, role, body]]) => ({
        label: `${header}: ${JSON.stringify(v)}`,
        app,
        method: 'POST',
        path,
        role,
        body,
        headers: { [header]: v },
        names: header,
      })),
      fc.tuple(fc.constantFrom(['payments', 'reference'], ['adjustments', 'reason']), hostileText).map(([[kind, field], v]) => ({
        label: `${kind} ${field} = ${JSON.stringify(v)}`,
        app: accounting,
        method: 'POST',
        path: `/accounts/${ACCOUNT}/${kind}`,
        role: 'finance',
        body: { amountMinor: kind === 'payments' ? 5 : -5, currency: 'EUR', [field]: v },
        names: field,
      })),
      fc.tuple(hostileUrlText, fc.constantFrom('payments', 'adjustments')).map(([id, kind]) => ({ label: `account id ${JSON.stringify(id)}`, app: accounting, method: 'POST', path: `/accounts/${encodeURIComponent(id)}/${kind}`, role: 'finance', body: { amountMinor: 5, currency: 'EUR', reason: 'x' }, names: 'accountId' })),
      fc.tuple(hostileUrlText, fc.constantFrom(handler, accounting)).map(([id, app]) => ({ label: `command id ${JSON.stringify(id)}`, app, method: 'GET', path: `/commands/${encodeURIComponent(id)}`, role: 'viewer', names: 'commandId' })),
      hostileText.map((v) => ({ label: `correction reason ${JSON.stringify(v)}`, app: ledger, method: 'POST', path: `/admin/api/shipments/${TARGET}/correct-status`, role: 'supervisor', body: { toStatus: 'Cancelled', reason: v }, names: 'reason' })),
      fc.tuple(fc.constantFrom(['/shipments', 'q'], ['/events', 'initiatedBy'], ['/shipments', 'cursor'], ['/events', 'cursor'], ['/alerts', 'cursor'], [`/accounts/${ACCOUNT}/transactions`, 'cursor']), hostileUrlText).map(([[path, param], v]) => ({
        label: `${path}?${param}=${JSON.stringify(v)}`,
        app: ledger,
        method: 'GET',
        path: `${path}${q({ [param]: v })}`,
        role: 'viewer',
        names: param,
        ledgerParam: true,
      })),
      fc.tuple(fc.constantFrom(['/shipments/{}', 'id'], ['/shipments/{}/events', 'id'], ['/events/{}', 'eventId'], ['/traces/{}', 'traceId'], ['/accounts/{}', 'id'], ['/accounts/{}/transactions', 'id']), hostileUrlText).map(([[route, param], v]) => ({
        label: `${route} with ${JSON.stringify(v)}`,
        app: ledger,
        method: 'GET',
        path: route.replace('{}', encodeURIComponent(v)),
        role: 'viewer',
        names: param,
        ledgerParam: true,
      })),
      hostileUrlText.map((v) => ({ label: `ack ${JSON.stringify(v)}`, app: ledger, method: 'POST', path: `/alerts/${encodeURIComponent(v)}/ack`, role: 'team-lead', names: 'id', ledgerParam: true })),
    );
    await report.run(
      'control characters and lone surrogates',
      'C0 (NUL, BEL, tab, newline, ESC), DEL, C1 and lone surrogates in every create and command text field and id, payment references and adjustment reasons, the correction proxy’s reason, Idempotency-Key / X-Trace-Id, account and command path ids, the ledger’s q / initiatedBy / cursor and every ledger path id',
      '400 VALIDATION with a fieldErrors entry naming the field (the ledger: 400 BAD_REQUEST with `param`), JSON, headers; nothing stored',
      async () => {
        let count = 0;
        await fc.assert(
          fc.asyncProperty(probe, async ({ label, app, method, path, role, body, headers, names, ledgerParam }) => {
            const answer = await send(app, method, path, { role, body, headers });
            count++;
            expectClientError(answer, 400, (json) =>
              ledgerParam
                ? json.error === 'BAD_REQUEST' && json.param === names
                  ? undefined
                  : `expected BAD_REQUEST with param ${names} (${label})`
                : json.error === 'VALIDATION' && json.fieldErrors?.some((f: { field: string }) => f.field === names)
                  ? undefined
                  : `expected VALIDATION naming ${names} (${label})`,
            );
          }),
          settings(RUNS * 3),
        );
        return count;
      },
    );
  });

  it('malformed JSON, 10 000-deep values, wrong content types and bodies over the limit get 400/415/413 JSON on every POST', async () => {
    // Each POST with a body whose `deep` placeholder is valid otherwise.
    const posts: Array<[App, string, string, string]> = [
      [handler, '/shipments', 'associate', JSON.stringify({ ...newShipment('FZ-DEEP'), destination: { ...newShipment('FZ-DEEP').destination, name: '@deep' } })],
      [handler, `/shipments/${TARGET}/commands`, 'supervisor', JSON.stringify({ type: 'Cancel', data: { reason: '@deep' } })],
      [accounting, `/accounts/${ACCOUNT}/payments`, 'finance', JSON.stringify({ amountMinor: '@deep', currency: 'EUR' })],
      [accounting, `/accounts/${ACCOUNT}/adjustments`, 'finance', JSON.stringify({ amountMinor: 5, currency: 'EUR', reason: '@deep' })],
      [ledger, '/alerts/nobody/ack', 'team-lead', JSON.stringify({ note: '@deep' })],
      [ledger, `/admin/api/shipments/${TARGET}/correct-status`, 'supervisor', JSON.stringify({ toStatus: 'Cancelled', reason: '@deep' })],
    ];
    refusedIds.add('FZ-DEEP');
    await report.run('every POST: body framing', `values nested 10 000 deep (arrays and objects; JSON.stringify overflows at ~5 000), not-JSON bodies (${NOT_JSON_BODIES.length} kinds: truncated, single quotes, trailing comma, NaN, top-level scalars), bytes that are not UTF-8 (${NOT_UTF8.length} kinds: bad lead and continuation bytes, overlong, surrogates, past U+10FFFF, cut short), text/plain and form content types, charset=latin1 and utf-16le, bodies past the limit (1mb / 64kb) with and without valid JSON`, '400 INVALID_JSON (saying UTF-8 for bytes that are not) or VALIDATION / 415 / 413 PAYLOAD_TOO_LARGE, JSON, headers', async () => {
      let count = 0;
      for (const [app, path, role, template] of posts) {
        for (const [open, close] of [['[', ']'], ['{"a":', '}']]) {
          const deep = template.replace('"@deep"', `${open.repeat(10_000)}1${close.repeat(10_000)}`);
          const answer = await send(app, 'POST', path, { role, rawBody: deep });
          count++;
          expectClientError(answer, path.includes('/ack') ? 404 : 400);
        }
        for (const raw of NOT_JSON_BODIES) {
          const answer = await send(app, 'POST', path, { role, rawBody: raw });
          count++;
          // `[]` and `{"a":1}` are JSON, just not a valid request; alert acks take no body at all.
          const okStatuses = path.includes('/ack') ? [400, 404] : [400];
          expectClientError(answer, okStatuses);
        }
        for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
          const answer = await send(app, 'POST', path, { role, rawBody: 'type=Cancel&amountMinor=5', headers: { 'content-type': contentType } });
          count++;
          expectClientError(answer, path.includes('/ack') ? [400, 404, 415] : [400, 415]);
        }
        const latin1 = await send(app, 'POST', path, { role, rawBody: '{"reason":"caf\xe9"}', headers: { 'content-type': 'application/json; charset=latin1' } });
        count++;
        expectClientError(latin1, [400, 415]);
        const utf16 = await send(app, 'POST', path, { role, rawBody: Buffer.from(template.replace('"@deep"', '"x"'), 'utf16le'), headers: { 'content-type': 'application/json; charset=utf-16le' } });
        count++;
        expectClientError(utf16, 415);
        // Bytes that are not UTF-8 in a string of an otherwise valid body: refused, never read as U+FFFD.
        const [before, after] = template.split('"@deep"');
        for (const [what, bad] of NOT_UTF8) {
          const answer = await send(app, 'POST', path, { role, rawBody: Buffer.concat([Buffer.from(`${before}"caf`), Buffer.from(bad), Buffer.from(`"${after}`)]) });
          count++;
          expectClientError(answer, 400, (json) => (json.error === 'INVALID_JSON' && /UTF-8/.test(json.message) ? undefined : `expected INVALID_JSON saying the body is not UTF-8 (${what})`));
        }
        for (const size of [1_100_000, 3_000_000]) {
          const big = await send(app, 'POST', path, { role, rawBody: JSON.stringify({ type: 'Cancel', data: { reason: 'x'.repeat(size) } }) });
          const garbage = await send(app, 'POST', path, { role, rawBody: '{'.repeat(size) });
          count += 2;
          expectClientError(big, 413, (json) => (json.error === 'PAYLOAD_TOO_LARGE' ? undefined : 'expected PAYLOAD_TOO_LARGE'));
          expectClientError(garbage, 413);
        }
        if (app === accounting) {
          // accounting-handler's limit is 64kb: just past it is already too large.
          const past = await send(app, 'POST', path, { role, rawBody: JSON.stringify({ amountMinor: 1, currency: 'EUR', reason: 'x'.repeat(70_000) }) });
          count++;
          expectClientError(past, 413);
        }
      }
      return count;
    });
  });

  it('unknown routes and methods get a JSON 404; oversized request lines and headers a JSON 431', async () => {
    await report.run('routing and HTTP framing', 'unknown paths, PUT/DELETE/PATCH on known paths, paths and query strings that are not percent-encoded UTF-8, a 20 kB URL, a 20 kB header, a malformed request line', '404 NOT_FOUND / 431 / 400, JSON, security headers', async () => {
      let count = 0;
      for (const app of [handler, accounting, ledger]) {
        for (const [method, path] of [['GET', '/nope'], ['GET', '/shipments/x/commands/y'], ['DELETE', '/shipments/FZ-TARGET'], ['PUT', '/accounts/ACC-FZ'], ['PATCH', '/events'], ['GET', '/%E0%A4%A']] as const) {
          const answer = await send(app, method, path, { role: 'supervisor' });
          count++;
          expectClientError(answer, path === '/%E0%A4%A' ? [400, 404] : 404);
        }
        for (const path of ['/shipments?q=%FF', '/events?initiatedBy=%C3%28', '/shipments?status=%E0%A4%A', '/accounts/ACC-FZ/transactions?cursor=%ED%A0%80', '/shipments/%FF', '/accounts/%C0%AF', '/commands/%E2%82', '/shipments?%FF=1']) {
          const answer = await send(app, 'GET', path, { role: 'viewer' });
          count++;
          expectClientError(answer, 400, (json) => (/percent-encoded UTF-8/.test(json.message) ? undefined : 'expected a 400 saying the URL is not percent-encoded UTF-8'));
        }
        const longUrl = await rawHttp(app.port, `GET /shipments/${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\nX-API-Key: demo-viewer-key\r\nConnection: close\r\n\r\n`);
        const longHeader = await rawHttp(app.port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: ${'p'.repeat(20_000)}\r\nConnection: close\r\n\r\n`);
        const garbage = await rawHttp(app.port, 'GET / HTTP/9.9 nonsense\r\n\r\n');
        count += 3;
        for (const [answer, status] of [[longUrl, 431], [longHeader, 431], [garbage, 400]] as const) {
          const headers = new Headers(answer.headers);
          expectClientError({ status: answer.status, headers, text: answer.body, json: (() => { try { return JSON.parse(answer.body); } catch { return undefined; } })(), request: `raw request (${status})` } as Answer, status);
        }
      }
      return count;
    });
  });

  it('changed nothing: no event, no transaction, no accounting command; commands only for the unknown ids; read models as they were', async () => {
    await report.run('state afterwards', '(everything above)', 'topic ends of shipment.events, accounting.transactions, accounting.commands unchanged; every new shipment command is for an unknown id; target, account and alerts read the same; no refused id exists', async () => {
      expect(await topicEnd(p, 'shipmentEvents')).toBe(before.events);
      expect(await topicEnd(p, 'accountingTransactions')).toBe(before.transactions);
      expect(await topicEnd(p, 'accountingCommands')).toBe(before.accountingCommands);
      const commands = await p.readTopic('shipmentCommands', setupCommands + unknownShipments.size);
      const ids = commands.map((r) => (r.value as { aggregateId: string }).aggregateId);
      expect(ids.filter((id) => !unknownShipments.has(id)).sort()).toEqual([TARGET, UNICODE].sort());
      expect(new Set(ids.filter((id) => unknownShipments.has(id)))).toEqual(unknownShipments);
      const target = await send(ledger, 'GET', `/shipments/${TARGET}`, { role: 'viewer' });
      expect(target.json).toEqual({ ...before.target, meta: target.json.meta });
      const account = await send(accounting, 'GET', `/accounts/${ACCOUNT}`, { role: 'finance' });
      expect({ ...account.json, reflects: undefined }).toEqual({ ...before.account, reflects: undefined });
      const ledgerAccount = await send(ledger, 'GET', `/accounts/${ACCOUNT}`, { role: 'finance' });
      expect({ ...ledgerAccount.json, meta: undefined }).toEqual({ ...before.ledgerAccount, meta: undefined });
      expect((await send(ledger, 'GET', '/alerts', { role: 'viewer' })).json.items).toEqual(before.alerts);
      let count = 4 + 1;
      for (const id of [...refusedIds].filter((id) => /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(id))) {
        expect([id, (await send(ledger, 'GET', `/shipments/${encodeURIComponent(id)}`, { role: 'viewer' })).status]).toEqual([id, 404]);
        count++;
      }
      for (const id of unknownShipments) {
        expect([id, (await send(ledger, 'GET', `/shipments/${id}`, { role: 'viewer' })).status]).toEqual([id, 404]);
        count++;
      }
      return count;
    });
  });
});
