import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { call, pipeline, root, type Pipeline } from '../support/pipeline';

// `npm run demo -- --story` (tools/demo/story.mjs) on a private pipeline: the go-live story of
// docs/ARCHITECTURE.md §11, told through the public HTTP APIs, and what the ledger shows after it.

type App = Awaited<ReturnType<Pipeline['start']>>;

function story(handler: App, ledger: App): Promise<string> {
  return new Promise((resolvePromise, reject) =>
    execFile(
      process.execPath,
      [join(root, 'tools', 'demo', 'demo.mjs'), '--story', '--handler', handler.url, '--ledger', ledger.url, '--stack', '/nonexistent'],
      { timeout: 120_000 },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stdout}\n${stderr}`)) : resolvePromise(stdout)),
    ),
  );
}

describe('the go-live story (npm run demo -- --story)', () => {
  let p: Pipeline;
  let handler: App;
  let ledger: App;
  let output: string;

  beforeAll(async () => {
    p = await pipeline('story');
    await p.start('shipment-reducer');
    handler = await p.start('shipment-handler', { OUTCOME_WAIT_MS: '10000' });
    ledger = await p.start('ledger');
    output = await story(handler, ledger);
  });
  afterAll(() => p?.close());

  it('tells the story step by step and says where to look', () => {
    expect(output).toContain('The go-live story, on shipment 1345693');
    expect(output).toMatch(/15:22 {2}Jonas Berg +packed it/);
    expect(output).toMatch(/19:05 {2}Walter Chin +moved it to PendingPicking in the old system → v8 {2}⚠ Packed → PendingPicking: recorded and flagged/);
    expect(output).toMatch(/StatusCorrected PendingPicking → Packed, with a reason → v9/);
    expect(output).toContain(`${ledger.url}/admin/#/shipments/1345693`);
    expect(output).toContain(`${ledger.url}/admin/#/alerts`);
  });

  it('raised the alert on the ledger within a second of recording the forbidden move', () => {
    const latency = Number(/raised the alert (\d+) ms after it was recorded/.exec(output)?.[1]);
    expect(latency).toBeLessThan(1000);
  });

  it('leaves the ledger with every fact in its sequence, one trace, the violation flagged and the status compensated', async () => {
    const shipment = await call(ledger, 'GET', '/shipments/1345693', { role: 'viewer' });
    expect(shipment.body).toMatchObject({ version: 9, status: 'Packed', lastEvent: { type: 'StatusCorrected' } });
    const events = (await call(ledger, 'GET', '/shipments/1345693/events?limit=50', { role: 'viewer' })).body.items as Array<Record<string, unknown>>;
    expect(events.map((e) => e.type)).toEqual(['ShipmentCreated', 'StatusObserved', 'ItemPicked', 'ItemPicked', 'ItemPicked', 'StatusObserved', 'ShipmentPacked', 'StatusObserved', 'StatusCorrected']);
    const traces = new Set(events.slice(0, 8).map((e) => e.traceId));
    expect(traces.size).toBe(1);
    expect(events[7]).toMatchObject({ initiatedBy: 'legacy-wms-feed', observation: { observedBy: 'Walter Chin', source: 'legacy-wms', violation: { transition: 'Packed → PendingPicking', fromStatus: 'Packed' } } });
  });

  it('plays again on the next free id instead of failing on the first run’s facts', async () => {
    const again = await story(handler, ledger);
    expect(again).toContain('The go-live story, on shipment 1345693-2');
  });
});
