import { call, newShipment, pipeline, type Pipeline } from '../support/pipeline';

// HTTP → shipment-handler → shipment-reducer → ledger, each a process on the shared broker and
// Redis: every acknowledged command is read back from the ledger at once with the token its answer
// carried, by many clients at the same time. A read that shows an older version than the one the
// write acknowledged (or no shipment after its create was acknowledged) is a broken promise.

const COMMANDS = 10_000;
const CLIENTS = 32;
/** Every n-th command is also read back through the shipment's event list. */
const EVENTS_READ_EVERY = 5;
/** Every n-th shipment also gets one command its status does not allow: a refusal has a token too. */
const REFUSAL_EVERY = 10;

type App = Awaited<ReturnType<Pipeline['start']>>;
type Answer = Awaited<ReturnType<typeof call>>;

interface Command {
  shipmentId: string;
  role: string;
  path: string;
  body: unknown;
  expectedStatus: number;
  isCreate: boolean;
}

// The lifecycle after creation; shipment i goes 1 + (i % LIFECYCLE.length) steps along it, so
// creates stay frequent and versions still climb.
const LIFECYCLE: Array<{ role: string; type: string; data?: object }> = [
  { role: 'team-lead', type: 'ReleaseForPicking' },
  { role: 'associate', type: 'PickItem', data: { sku: 'SKU-A', quantity: 2 } },
  { role: 'associate', type: 'PickItem', data: { sku: 'SKU-B', quantity: 1 } },
  { role: 'associate', type: 'CompletePicking' },
];

/** Each shipment's commands, in the order they must be sent; exactly `total` commands in all. */
function scripts(total: number): Command[][] {
  const all: Command[][] = [];
  let count = 0;
  for (let i = 0; count < total; i += 1) {
    const shipmentId = `RYW-${String(i).padStart(5, '0')}`;
    const path = `/shipments/${shipmentId}/commands`;
    const script: Command[] = [{ shipmentId, role: 'associate', path: '/shipments', body: newShipment(shipmentId), expectedStatus: 201, isCreate: true }];
    for (const step of LIFECYCLE.slice(0, 1 + (i % LIFECYCLE.length))) {
      script.push({ shipmentId, role: step.role, path, body: { type: step.type, data: step.data }, expectedStatus: 200, isCreate: false });
    }
    if (i % REFUSAL_EVERY === REFUSAL_EVERY - 1) {
      script.push({ shipmentId, role: 'associate', path, body: { type: 'Ship', data: { carrier: 'DHL', trackingNumber: 'T-1' } }, expectedStatus: 422, isCreate: false });
    }
    const kept = script.slice(0, total - count);
    all.push(kept);
    count += kept.length;
  }
  return all;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('read-your-writes under load', () => {
  let p: Pipeline;
  let handler: App;
  let ledger: App;

  beforeAll(async () => {
    p = await pipeline('read-your-writes');
    // Thousands of requests a minute from a handful of demo keys: far past the default limit.
    const unlimited = { RATE_LIMIT_PER_MINUTE: '100000000' };
    await p.start('shipment-reducer');
    ledger = await p.start('ledger', unlimited);
    handler = await p.start('shipment-handler', { ...unlimited, OUTCOME_WAIT_MS: '10000' });
  }, 180_000);
  afterAll(() => p?.close());

  /** Sends a command; a 202 (the reducer did not answer within OUTCOME_WAIT_MS) is polled until answered. */
  async function send(command: Command): Promise<Answer> {
    let answer = await call(handler, 'POST', command.path, { role: command.role, body: command.body });
    const deadline = Date.now() + 30_000;
    while (answer.status === 202 && Date.now() < deadline) {
      await sleep(100);
      const polled = await call(handler, 'GET', `/commands/${encodeURIComponent(answer.body.commandId)}`, { role: 'viewer' });
      if (polled.status !== 202) answer = polled;
    }
    return answer;
  }

  it(`never shows an older version than a write acknowledged: ${COMMANDS} commands by ${CLIENTS} clients, each read back at once`, async () => {
    const queue = scripts(COMMANDS);
    const tally = { commands: 0, creates: 0, refusals: 0, reads: 0, fresh: 0, olderVersion: 0, notFoundAfterCreate: 0, notFoundAfterTransition: 0, timedOut: 0, unexpected: 0 };
    const unexpected: string[] = [];
    const readMs: number[] = [];
    const commandMs: number[] = [];
    const unexpectedAnswer = (what: string) => {
      tally.unexpected += 1;
      if (unexpected.length < 10) unexpected.push(what);
    };
    const began = Date.now();

    const judge = (command: Command, acknowledged: number, what: string, read: Answer, readVersion: () => number) => {
      tally.reads += 1;
      if (read.status === 200 && readVersion() >= acknowledged) tally.fresh += 1;
      else if (read.status === 200) tally.olderVersion += 1;
      else if (read.status === 404) tally[command.isCreate ? 'notFoundAfterCreate' : 'notFoundAfterTransition'] += 1;
      else if (read.status === 504) tally.timedOut += 1;
      else unexpectedAnswer(`${what} of ${command.shipmentId}: ${read.status} ${JSON.stringify(read.body)}`);
    };

    const client = async () => {
      for (let script = queue.shift(); script; script = queue.shift()) {
        for (const command of script) {
          const sentAt = Date.now();
          const answer = await send(command);
          commandMs.push(Date.now() - sentAt);
          tally.commands += 1;
          if (answer.status !== command.expectedStatus) {
            unexpectedAnswer(`${JSON.stringify(command.body).slice(0, 60)} on ${command.shipmentId}: ${answer.status} ${JSON.stringify(answer.body)}`);
            break;
          }
          if (command.isCreate) tally.creates += 1;
          if (command.expectedStatus === 422) tally.refusals += 1;
          const acknowledged: number = answer.body.version;
          const id = encodeURIComponent(command.shipmentId);
          const readBack = readBackQuery(answer);
          const readAt = Date.now();
          const read = await call(ledger, 'GET', `/shipments/${id}?${readBack}`, { role: 'viewer' });
          readMs.push(Date.now() - readAt);
          judge(command, acknowledged, 'shipment', read, () => read.body.version);
          if (tally.commands % EVENTS_READ_EVERY === 0) {
            const events = await call(ledger, 'GET', `/shipments/${id}/events?${readBack}`, { role: 'viewer' });
            judge(command, acknowledged, 'events', events, () => Math.max(0, ...events.body.items.map((e: { version: number }) => e.version)));
          }
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, client));

    const seconds = (Date.now() - began) / 1000;
    const stale = tally.olderVersion + tally.notFoundAfterCreate + tally.notFoundAfterTransition;
    const percentiles = (ms: number[]) => {
      const sorted = [...ms].sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
      return `${at(0.5)} ms (p50), ${at(0.99)} ms (p99), ${sorted[sorted.length - 1]} ms (max)`;
    };
    process.stdout.write(
      `read-your-writes: ${tally.commands} commands (${tally.creates} creates, ${tally.refusals} refusals) by ${CLIENTS} clients in ${seconds.toFixed(1)} s ` +
        `(${Math.round(tally.commands / seconds)}/s); ${tally.reads} reads: ${stale} stale (${(100 * stale / tally.reads).toFixed(2)} %; ` +
        `${tally.olderVersion} older version, ${tally.notFoundAfterCreate} not found after a create, ${tally.notFoundAfterTransition} after a transition), ${tally.timedOut} timed out; ` +
        `commands took ${percentiles(commandMs)}, shipment reads ${percentiles(readMs)}\n`,
    );
    expect(unexpected).toEqual([]);
    expect(tally).toMatchObject({ commands: COMMANDS, olderVersion: 0, notFoundAfterCreate: 0, notFoundAfterTransition: 0, timedOut: 0, unexpected: 0 });
    expect(tally.fresh).toBe(tally.reads);
  }, 600_000);
});

/** The query a read passes to see the write `answer` acknowledged. */
function readBackQuery(answer: Answer): string {
  return `readToken=${encodeURIComponent(answer.body.readToken)}`;
}
