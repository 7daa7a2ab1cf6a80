#!/usr/bin/env node
// A day of warehouse traffic for the running stack, through the public HTTP APIs only, with the
// demo keys: shipments by several people through every status, multi-shipment orders sharing a
// trace (X-Trace-Id), a few forbidden transitions (alerts), supervisor corrections with reasons,
// and payments and adjustments when an accounting-handler is running.
//
//   node tools/demo/demo.mjs [--shipments 300] [--concurrency 8] [--stack .data/stack.json]
//                            [--handler URL] [--ledger URL] [--accounting URL] [--seed N] [--quiet]
//
// URLs come from .data/stack.json (written by `npm start`) unless given as flags.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import cliProgress from 'cli-progress';
import { runStory } from './story.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const KEYS = {
  viewer: 'demo-viewer-key',
  associate: 'demo-associate-key',
  'team-lead': 'demo-teamlead-key',
  supervisor: 'demo-supervisor-key',
  finance: 'demo-finance-key',
  integration: 'demo-integration-key',
};

const HELP = `Usage: node tools/demo/demo.mjs [options]
  --shipments N      how many shipments (default 300)
  --concurrency N    requests in flight at most (default 8)
  --stack FILE       stack description written by npm start (default .data/stack.json)
  --handler URL      shipment-handler (default: from the stack file)
  --ledger URL       ledger (default: from the stack file)
  --accounting URL   accounting-handler (default: from the stack file; skipped if none)
  --seed N           random seed, for a repeatable day (default: the clock)
  --quiet            no progress bar
  --story            instead of a day of traffic, play the go-live story: the old main system's
                     feed reports order 1345693 created, picked and packed at 15:22, then its team
                     lead Walter Chin moves it back to PendingPicking; Waybill records and flags
                     it, and a supervisor compensates. Prints where to look on the page.
  --id ID            the story's shipment (default 1345693, or the next free 1345693-N)
`;

export function parseArgs(argv) {
  const options = { shipments: 300, concurrency: 8, stack: join(ROOT, '.data', 'stack.json'), quiet: false, seed: Date.now() % 2147483647 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case '--shipments': options.shipments = Number(value()); break;
      case '--concurrency': options.concurrency = Number(value()); break;
      case '--stack': options.stack = resolve(value()); break;
      case '--handler': options.handler = value(); break;
      case '--ledger': options.ledger = value(); break;
      case '--accounting': options.accounting = value(); break;
      case '--seed': options.seed = Number(value()); break;
      case '--quiet': options.quiet = true; break;
      case '--story': options.story = true; break;
      case '--id': options.id = value(); break;
      case '--demo': break; // tolerated when passed through from `npm start -- --demo`
      case '-h': case '--help': options.help = true; break;
      default: throw new Error(`unknown option ${arg}`);
    }
  }
  if (!Number.isInteger(options.shipments) || options.shipments < 1 || options.shipments > 100_000) throw new Error('--shipments must be 1 to 100000');
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1 || options.concurrency > 64) throw new Error('--concurrency must be 1 to 64');
  return options;
}

function endpoints(options) {
  let listed = [];
  if (existsSync(options.stack)) {
    try {
      listed = JSON.parse(readFileSync(options.stack, 'utf8')).endpoints ?? [];
    } catch (err) {
      throw new Error(`${options.stack} is not valid JSON: ${err.message}`);
    }
  }
  const url = (name) => listed.find((e) => e.name === name)?.url;
  const handler = options.handler ?? url('shipment-handler');
  const ledger = options.ledger ?? url('ledger');
  const accounting = options.accounting ?? url('accounting-handler');
  if (!handler) throw new Error(`no shipment-handler URL: start the stack (npm start) so ${options.stack} exists, or pass --handler`);
  return { handler: handler.replace(/\/+$/, ''), ledger: ledger?.replace(/\/+$/, ''), accounting: accounting?.replace(/\/+$/, '') };
}

/** A small seeded generator (mulberry32): the same seed gives the same day. */
function random(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (list) => list[Math.floor(next() * list.length)],
    chance: (p) => next() < p,
  };
}

/** Runs at most `limit` tasks at a time. */
function limiter(limit) {
  let active = 0;
  const queue = [];
  const pump = () => {
    while (active < limit && queue.length) {
      const { task, resolve, reject } = queue.shift();
      active++;
      task().then(resolve, reject).finally(() => {
        active--;
        pump();
      });
    }
  };
  return (task) => new Promise((resolve, reject) => {
    queue.push({ task, resolve, reject });
    pump();
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The demo's HTTP client: the demo key of `role`, at most the limiter's requests in flight, a
 * 429 waited out as the app asks, a network error retried twice.
 */
function httpClient(run, stats) {
  return async function http(base, method, path, role, body, headers = {}) {
    return run(async () => {
      stats.requests++;
      for (let attempt = 1; ; attempt++) {
        try {
          const res = await fetch(`${base}${path}`, {
            method,
            headers: { 'content-type': 'application/json', 'x-api-key': KEYS[role], ...headers },
            body: body === undefined ? undefined : JSON.stringify(body),
            signal: AbortSignal.timeout(20_000),
          });
          // Rate limited: wait as long as the app asks, then the same request again.
          if (res.status === 429 && attempt < 10) {
            await res.text();
            await sleep(Math.max(1, Number(res.headers.get('retry-after') ?? 1)) * 1000);
            continue;
          }
          const text = await res.text();
          let json;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = { message: text };
          }
          return { status: res.status, body: json ?? {} };
        } catch (err) {
          if (attempt >= 3) return { status: 0, body: { error: 'NETWORK', message: err.message } };
          await sleep(300 * attempt);
        }
      }
    });
  }
}


const SKUS = [
  ['SKU-MUG-01', 899], ['SKU-TEE-M', 1999], ['SKU-TEE-L', 1999], ['SKU-CAP-02', 1499], ['SKU-BAG-10', 3499],
  ['SKU-BOT-05', 1299], ['SKU-SOCK-3', 799], ['SKU-HOOD-M', 4999], ['SKU-PEN-12', 349], ['SKU-NOTE-A5', 599],
];
const PLACES = [
  ['Utrecht', '3511 AA', 'NL'], ['Amsterdam', '1012 AB', 'NL'], ['Rotterdam', '3011 AD', 'NL'], ['Antwerpen', '2000', 'BE'],
  ['Köln', '50667', 'DE'], ['Lille', '59000', 'FR'], ['Gent', '9000', 'BE'], ['Eindhoven', '5611 AB', 'NL'],
];
const NAMES = ['Ada Lovelace', 'Grace Hopper', 'Alan Turing', 'Edsger Dijkstra', 'Barbara Liskov', 'Katherine Johnson', 'Tim Berners-Lee', 'Margaret Hamilton'];
const CARRIERS = ['PostNL', 'DHL', 'DPD', 'UPS'];
const CANCEL_REASONS = ['customer cancelled by phone', 'address could not be verified', 'payment failed', 'duplicate order'];
// Where each shipment's day ends, roughly like a real warehouse floor at 5 pm.
const FINAL = [
  ['Created', 5], ['PendingPicking', 8], ['Picking', 7], ['Picked', 6], ['Packed', 8], ['ReadyForShipping', 7],
  ['Shipped', 16], ['Delivered', 32], ['Cancelled', 11],
];
const ORDER = ['Created', 'PendingPicking', 'Picking', 'Picked', 'Packed', 'ReadyForShipping', 'Shipped', 'Delivered'];

export async function runDemo(options, out = process.stdout) {
  const urls = endpoints(options);
  const rng = random(options.seed);
  const run = limiter(options.concurrency);
  const tag = Date.now().toString(36).slice(-5).toUpperCase();
  const stats = { requests: 0, accepted: 0, refused: 0, failed: 0, alerts: 0, corrections: 0, payments: 0, adjustments: 0, accountingSkipped: !urls.accounting };
  const interesting = { delivered: [], corrected: [], alerted: [], cancelled: [], orders: [] };
  const failures = [];
  /** Accounts a shipment of the day shipped for: charged, so open. */
  const charged = new Set();
  const accountOpened = async (account) => {
    for (const deadline = Date.now() + 15_000; Date.now() < deadline; await sleep(250)) {
      if ((await http(urls.accounting, 'GET', `/accounts/${account}`, 'finance')).status === 200) return true;
    }
    return false;
  };
  /** Per shipment, the readToken of the last answer: what the ledger must show before a link to it is printed. */
  const readTokens = new Map();
  const remember = (id, res) => {
    if (res.body.readToken) readTokens.set(id, res.body.readToken);
    return res;
  };

  const http = httpClient(run, stats);

  /** Sends a command; a 202 (the reducer has not answered yet) is followed until it has. */
  async function command(id, role, type, data = {}, headers = {}) {
    let res = await http(urls.handler, 'POST', `/shipments/${encodeURIComponent(id)}/commands`, role, { type, data }, headers);
    for (let i = 0; res.status === 202 && res.body.commandId && i < 40; i++) {
      await sleep(250);
      const polled = await http(urls.handler, 'GET', `/commands/${encodeURIComponent(res.body.commandId)}`, role);
      if (polled.status !== 202) res = polled;
    }
    return remember(id, res);
  }

  const expectOk = (what, res) => {
    if (res.status >= 200 && res.status < 300) {
      stats.accepted++;
      return true;
    }
    stats.failed++;
    if (failures.length < 10) failures.push(`${what}: ${res.status} ${res.body.error ?? ''} ${res.body.message ?? ''}`.trim());
    return false;
  };

  const people = {
    associate: () => 'associate',
    lead: () => (rng.chance(0.7) ? 'team-lead' : 'supervisor'),
    any: () => rng.pick(['associate', 'associate', 'associate', 'team-lead']),
  };

  function finalStatus() {
    let roll = rng.next() * FINAL.reduce((a, [, w]) => a + w, 0);
    for (const [status, weight] of FINAL) if ((roll -= weight) < 0) return status;
    return 'Delivered';
  }

  // Orders of one to three shipments; the shipments of one order are created in one trace.
  const orders = [];
  for (let n = 0; n < options.shipments; ) {
    const size = Math.min(options.shipments - n, rng.chance(0.25) ? rng.int(2, 3) : 1);
    const orderNo = orders.length + 1;
    const account = `ACC-${1001 + rng.int(0, 11)}`;
    const place = rng.pick(PLACES);
    const shipments = Array.from({ length: size }, (_, i) => {
      const lines = Array.from({ length: rng.int(1, 4) }, () => rng.pick(SKUS))
        .filter((l, i, all) => all.findIndex((o) => o[0] === l[0]) === i)
        .map(([sku, price]) => ({ sku, quantity: rng.int(1, 4), unitPriceMinor: price }));
      return { id: `${tag}-${String(n + i + 1).padStart(4, '0')}`, lines, final: finalStatus() };
    });
    orders.push({ orderId: `ORD-${tag}-${String(orderNo).padStart(4, '0')}`, account, place, name: rng.pick(NAMES), traceId: size > 1 ? `order-${tag}-${orderNo}-${randomUUID().slice(0, 8)}` : undefined, shipments });
    n += size;
  }
  const all = orders.flatMap((o) => o.shipments.map((s) => ({ ...s, order: o })));
  // A few forbidden transitions and corrections, on shipments that reach the right status.
  const packed = all.filter((s) => ['Packed', 'ReadyForShipping', 'Shipped', 'Delivered'].includes(s.final));
  const forbidden = new Set(packed.filter((_, i) => i % 23 === 3).slice(0, 8).map((s) => s.id));
  const corrections = new Set(all.filter((s) => s.final !== 'Created').filter((_, i) => i % 41 === 7).slice(0, 6).map((s) => s.id));

  const bar = options.quiet
    ? undefined
    : new cliProgress.SingleBar(
        { format: 'demo |{bar}| {value}/{total} shipments · {requests} requests · {alerts} alerts · {eta_formatted} left', hideCursor: true, clearOnComplete: false },
        cliProgress.Presets.shades_classic,
      );
  bar?.start(all.length, 0, { requests: 0, alerts: 0 });
  const tick = () => bar?.increment(1, { requests: stats.requests, alerts: stats.alerts });

  async function day(s) {
    const o = s.order;
    const trace = o.traceId ? { 'x-trace-id': o.traceId } : {};
    const creator = people.any();
    const created = await http(urls.handler, 'POST', '/shipments', creator, {
      shipmentId: s.id,
      orderId: o.orderId,
      customerAccountId: o.account,
      currency: 'EUR',
      lines: s.lines,
      destination: { name: o.name, street: `Dockstraat ${rng.int(1, 200)}`, city: o.place[0], postalCode: o.place[1], country: o.place[2] },
    }, trace);
    if (!expectOk(`create ${s.id}`, remember(s.id, created))) return;
    const reach = s.final === 'Cancelled' ? ORDER[rng.int(0, 5)] : s.final;
    const upTo = ORDER.indexOf(reach);
    const step = async (status, fn) => {
      if (ORDER.indexOf(status) > upTo) return false;
      return expectOk(`${status} ${s.id}`, await fn());
    };
    let ok = await step('PendingPicking', () => command(s.id, people.lead(), 'ReleaseForPicking', {}, trace));
    if (ok && upTo >= ORDER.indexOf('Picking')) {
      // Pick every line, some in two goes; stop half-way when the day ends in Picking.
      const picks = s.lines.flatMap((l) => (l.quantity > 1 && rng.chance(0.4) ? [{ sku: l.sku, quantity: 1 }, { sku: l.sku, quantity: l.quantity - 1 }] : [{ sku: l.sku, quantity: l.quantity }]));
      const count = reach === 'Picking' ? Math.max(1, Math.floor(picks.length / 2)) : picks.length;
      const picker = people.associate();
      for (const pick of picks.slice(0, count)) if (ok) ok = expectOk(`pick ${s.id}`, await command(s.id, picker, 'PickItem', pick));
    }
    ok = ok && (await step('Picked', () => command(s.id, 'associate', 'CompletePicking')));
    ok = ok && (await step('Packed', () => command(s.id, 'associate', 'Pack', { packageCount: rng.int(1, 3) })));
    if (ok && forbidden.has(s.id) && reach === 'Packed') {
      // The classic: a team lead sends a Packed shipment back to PendingPicking. Refused, alerted.
      const res = await command(s.id, 'team-lead', 'ReleaseForPicking');
      if (res.status === 422 || res.status === 403) {
        stats.refused++;
        stats.alerts++;
        interesting.alerted.push(s.id);
      }
    }
    ok = ok && (await step('ReadyForShipping', () => command(s.id, people.lead(), 'MarkReadyForShipping')));
    if (ok && forbidden.has(s.id) && reach !== 'Packed') {
      // Somebody tries to pick again after packing, or to correct without being a supervisor.
      const res = rng.chance(0.5) ? await command(s.id, 'team-lead', 'ReleaseForPicking') : await command(s.id, 'team-lead', 'CorrectStatus', { toStatus: 'Picking', reason: 'thought I could' });
      if (res.status === 422 || res.status === 403) {
        stats.refused++;
        stats.alerts++;
        interesting.alerted.push(s.id);
      }
    }
    ok = ok && (await step('Shipped', () => command(s.id, people.associate(), 'Ship', { carrier: rng.pick(CARRIERS), trackingNumber: `3S${tag}${rng.int(100000, 999999)}` })));
    if (ok) charged.add(o.account);
    ok = ok && (await step('Delivered', () => command(s.id, 'associate', 'ConfirmDelivery', { receivedBy: o.name })));
    if (ok && s.final === 'Cancelled') {
      ok = expectOk(`cancel ${s.id}`, await command(s.id, people.lead(), 'Cancel', { reason: rng.pick(CANCEL_REASONS) }));
      if (ok) interesting.cancelled.push(s.id);
    }
    if (ok && corrections.has(s.id)) {
      const current = s.final === 'Cancelled' ? 'Cancelled' : reach;
      const toStatus = current === 'Cancelled' ? 'Packed' : current === 'Delivered' ? 'Shipped' : current === 'Created' ? 'PendingPicking' : ORDER[Math.max(0, ORDER.indexOf(current) - 1)];
      const reason = current === 'Cancelled' ? 'cancelled by mistake; the customer still wants it' : current === 'Delivered' ? 'carrier scanned the wrong parcel as delivered' : 'one box was missing at the dock';
      if (expectOk(`correct ${s.id}`, await command(s.id, 'supervisor', 'CorrectStatus', { toStatus, reason }))) {
        stats.corrections++;
        interesting.corrected.push(s.id);
      }
    }
    if (ok && reach === 'Delivered' && s.final !== 'Cancelled') interesting.delivered.push(s.id);
  }

  await Promise.all(all.map((s) => day(s).catch((err) => {
    stats.failed++;
    if (failures.length < 10) failures.push(`${s.id}: ${err.message}`);
  }).finally(tick)));
  for (const o of orders) if (o.traceId && interesting.orders.length < 3) interesting.orders.push(o.traceId);

  // Money: customers pay for part of what shipped; finance adjusts a few accounts.
  if (urls.accounting) {
    // An account opens with its first shipment charge, booked a moment after the shipment ships:
    // only those are paid, once account-reducer shows them.
    const accounts = [...charged];
    await Promise.all(accounts.map(async (account, i) => {
      if (!(await accountOpened(account))) {
        stats.failed++;
        if (failures.length < 10) failures.push(`account ${account}: not opened 15 s after its shipment shipped`);
        return;
      }
      const pay = await http(urls.accounting, 'POST', `/accounts/${account}/payments`, 'finance', { amountMinor: rng.int(20, 200) * 100, currency: 'EUR', reference: `bank transfer ${tag}-${i + 1}` });
      if (expectOk(`payment ${account}`, pay)) stats.payments++;
      if (i % 4 === 0) {
        const adj = await http(urls.accounting, 'POST', `/accounts/${account}/adjustments`, 'finance', { amountMinor: -rng.int(1, 20) * 100, currency: 'EUR', reason: 'goodwill discount for a late delivery' });
        if (expectOk(`adjustment ${account}`, adj)) stats.adjustments++;
      }
    }));
  }
  bar?.stop();

  // The ledger projects a little behind the handler: without waiting, a link printed right after
  // the last command could open on an older state than the one the day ended with.
  const linked = [interesting.alerted[0], interesting.corrected[0], interesting.delivered[0], interesting.cancelled[0]].filter((id) => id && readTokens.has(id));
  if (urls.ledger) {
    await Promise.all(linked.map(async (id) => {
      const res = await http(urls.ledger, 'GET', `/shipments/${encodeURIComponent(id)}?readToken=${encodeURIComponent(readTokens.get(id))}`, 'viewer');
      if (res.status !== 200) {
        stats.failed++;
        if (failures.length < 10) failures.push(`ledger read of ${id}: ${res.status} ${res.body.error ?? ''} ${res.body.message ?? ''}`.trim());
      }
    }));
  }

  const admin = urls.ledger ? `${urls.ledger}/admin/` : '(the ledger is not in the stack file: open /admin on the ledger)';
  const link = (hash) => (urls.ledger ? `${urls.ledger}/admin/#/${hash}` : `#/${hash}`);
  const lines = [
    '',
    `A day of warehouse traffic: ${all.length} shipments in ${orders.length} orders, ${stats.requests} requests, ${stats.accepted} accepted, ${stats.refused} refused on purpose (alerts), ${stats.corrections} supervisor corrections.`,
    urls.accounting ? `Accounting: ${stats.payments} payments, ${stats.adjustments} adjustments.` : 'Accounting: no accounting-handler in the stack; payments and adjustments skipped.',
    stats.failed ? `Unexpected answers: ${stats.failed} (first: ${failures.slice(0, 3).join(' | ')})` : 'No unexpected answers.',
    '',
    `Open the ledger page: ${admin}`,
    '  sign in with demo-supervisor-key (or demo-teamlead-key, demo-viewer-key)',
    ...(interesting.alerted.length ? [`  a refused transition:   ${link(`shipments/${interesting.alerted[0]}`)}  (alerts: ${link('alerts')})`] : []),
    ...(interesting.corrected.length ? [`  a corrected status:     ${link(`shipments/${interesting.corrected[0]}`)}`] : []),
    ...(interesting.delivered.length ? [`  a delivered shipment:   ${link(`shipments/${interesting.delivered[0]}`)}`] : []),
    ...(interesting.cancelled.length ? [`  a cancelled shipment:   ${link(`shipments/${interesting.cancelled[0]}`)}`] : []),
    ...(interesting.orders.length ? [`  an order in one trace:  ${link(`traces/${encodeURIComponent(interesting.orders[0])}`)}`] : []),
    `  a customer account:     ${link(`accounts/${orders[0].account}`)}`,
    '',
  ];
  out.write(lines.join('\n'));
  return { stats, interesting, orders: orders.length, shipments: all.length, failures };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`demo: ${err.message}\n\n${HELP}`);
    process.exit(2);
  }
  if (options.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const played = options.story
    ? runStory({ urls: endpoints(options), http: httpClient(limiter(options.concurrency), { requests: 0 }), shipmentId: options.id }).then(() => 0)
    : runDemo(options).then((result) => (result.stats.failed > 0 && result.stats.accepted === 0 ? 1 : 0));
  played.then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`demo: ${err.message}\n`);
      process.exit(1);
    },
  );
}
