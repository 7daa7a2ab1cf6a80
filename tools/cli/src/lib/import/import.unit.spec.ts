import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initialState } from '@waybill/shipment-domain';
import { observationCommandId } from '@waybill/shipment-messages';
import { planImport, shipmentsOf, type KnownShipment } from './plan';
import { rowNote, rowsToShow } from './render';
import { parseLinesCell, parseOccurredAt, readCsv, readJsonl, readRows, UnreadableFileError } from './rows';

const defaults = { reportedBy: 'import:test', source: 'legacy-wms' };
const T = Date.parse('2025-03-01T10:00:00.000Z');

const CSV_HEADER =
  'shipmentId,sourceId,observedBy,kind,occurredAt,toStatus,sku,quantity,packageCount,carrier,trackingNumber,orderId,customerAccountId,currency,lines,destination.name,destination.street,destination.city,destination.postalCode,destination.country';

describe('reading rows', () => {
  it('reads occurredAt as epoch ms or ISO 8601 with a zone, never a local time', () => {
    expect(parseOccurredAt(T)).toBe(T);
    expect(parseOccurredAt(String(T))).toBe(T);
    expect(parseOccurredAt('2025-03-01T10:00:00Z')).toBe(T);
    expect(parseOccurredAt('2025-03-01T11:00:00+01:00')).toBe(T);
    expect(parseOccurredAt('2025-03-01T10:00:00')).toBeUndefined();
    expect(parseOccurredAt('yesterday')).toBeUndefined();
    expect(parseOccurredAt(-1)).toBeUndefined();
  });

  it('reads an order line cell SKU:quantity:unitPriceMinor;…', () => {
    expect(parseLinesCell('SKU-A:2:1250;SKU-B:1:4999')).toEqual({
      lines: [
        { sku: 'SKU-A', quantity: 2, unitPriceMinor: 1250 },
        { sku: 'SKU-B', quantity: 1, unitPriceMinor: 4999 },
      ],
      problems: [],
    });
    expect(parseLinesCell('SKU-A:two:1250').problems).toEqual([{ field: 'order.lines[0].quantity', message: '"two" is not a whole number' }]);
    expect(parseLinesCell('SKU-A').problems[0].field).toBe('order.lines[0]');
  });

  it('reads a CSV with a Created order in columns, quoted cells, and defaults source and reportedBy', async () => {
    const csv = [
      CSV_HEADER,
      `S-1,e-1,"Jan, de Vries",Created,2025-03-01T10:00:00Z,,,,,,,ORD-1,ACC-1,EUR,SKU-A:2:1250;SKU-B:1:4999,Ada,"Main 1",Utrecht,3511,NL`,
      `S-1,e-2,jan,LinePicked,${T + 1000},,SKU-A,2,,,,,,,,,,,,`,
    ].join('\r\n');
    const { rows } = await readCsv(csv, defaults);
    expect(rows.map((r) => [r.line, r.problems])).toEqual([
      [2, []],
      [3, []],
    ]);
    expect(rows[0].observation).toMatchObject({
      shipmentId: 'S-1',
      source: 'legacy-wms',
      observedBy: 'Jan, de Vries',
      occurredAt: T,
      reportedBy: 'import:test',
      order: {
        orderId: 'ORD-1',
        customerAccountId: 'ACC-1',
        currency: 'EUR',
        lines: [
          { sku: 'SKU-A', quantity: 2, unitPriceMinor: 1250 },
          { sku: 'SKU-B', quantity: 1, unitPriceMinor: 4999 },
        ],
        destination: { name: 'Ada', street: 'Main 1', city: 'Utrecht', postalCode: '3511', country: 'NL' },
      },
      sku: null,
    });
    expect(rows[1].observation).toMatchObject({ kind: 'LinePicked', sku: 'SKU-A', quantity: 2, order: null, occurredAt: T + 1000 });
  });

  it('reports bad CSV rows with their line and fields', async () => {
    const csv = [
      'shipmentId,sourceId,observedBy,kind,occurredAt,quantity,sku',
      'S-1,e-1,jan,LinePicked,2025-03-01T10:00:00,two,SKU-A',
      'S 2,e-2,jan,Packed,2025-03-01T10:00:00Z,,',
      'S-3,e-3,jan,Packed',
    ].join('\n');
    const { rows } = await readCsv(csv, { reportedBy: 'import:test' });
    expect(rows[0].line).toBe(2);
    expect(rows[0].problems.map((p) => p.field).sort()).toEqual(['occurredAt', 'quantity', 'source']);
    expect(rows[1].problems.map((p) => p.field).sort()).toEqual(['packageCount', 'shipmentId', 'source']);
    expect(rows[2]).toMatchObject({ line: 4, problems: [{ field: '(row)', message: 'has 4 cells; the header has 7' }] });
  });

  it('refuses a CSV whose header names an unknown column, and an empty file', async () => {
    await expect(readCsv('shipmentId,colour\nS-1,red\n', defaults)).rejects.toThrow(UnreadableFileError);
    await expect(readCsv('shipmentId,colour\nS-1,red\n', defaults)).rejects.toThrow(/unknown column\(s\) "colour"/);
    await expect(readCsv('', defaults)).rejects.toThrow(/empty/);
    await expect(readRows('a\u0000b', 'csv', defaults)).rejects.toThrow(/not a text file/);
  });

  it('reads JSONL: ISO or epoch ms, a reportedBy in the file ignored, unknown fields and broken lines reported', () => {
    const text = [
      JSON.stringify({ shipmentId: 'S-1', sourceId: 'e-1', observedBy: 'jan', kind: 'Packed', packageCount: 2, occurredAt: '2025-03-01T10:00:00Z', reportedBy: 'mallory' }),
      '',
      JSON.stringify({ shipmentId: 'S-1', sourceId: 'e-2', observedBy: 'jan', kind: 'Shipped', carrier: 'DHL', trackingNumber: 'T1', occurredAt: T + 5, colour: 'red' }),
      '{not json',
      '[1]',
    ].join('\n');
    const { rows, notes } = readJsonl(text, defaults);
    expect(notes).toHaveLength(1);
    expect(rows.map((r) => r.line)).toEqual([1, 3, 4, 5]);
    expect(rows[0]).toMatchObject({ problems: [], observation: { reportedBy: 'import:test', occurredAt: T, source: 'legacy-wms', process: null } });
    expect(rows[1].problems).toEqual([{ field: 'colour', message: 'is not a field of an Observation' }]);
    expect(rows[2].problems[0]).toMatchObject({ field: '(line)' });
    expect(rows[3].problems).toEqual([{ field: '(line)', message: 'must be one JSON object' }]);
  });
});

describe('planning an import', () => {
  const fact = (sourceId: string, kind: string, at: number, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ shipmentId: 'S-1', sourceId, observedBy: 'jan', kind, occurredAt: at, ...extra });
  const order = { orderId: 'O-1', customerAccountId: 'A-1', currency: 'EUR', lines: [{ sku: 'SKU-A', quantity: 1, unitPriceMinor: 100 }], destination: { name: 'A', street: 'B', city: 'C', postalCode: 'D', country: 'NL' } };

  it('folds rows in file order with the domain: a forbidden move is flagged, repeats and bad rows counted', () => {
    const { rows } = readJsonl(
      [
        fact('e-1', 'Created', T, { order }),
        fact('e-2', 'Shipped', T + 1000, { carrier: 'DHL', trackingNumber: 'T1' }),
        fact('e-2', 'Shipped', T + 1000, { carrier: 'DHL', trackingNumber: 'T1' }),
        fact('e-3', 'Packed', T + 2000),
      ].join('\n'),
      defaults,
    );
    expect(shipmentsOf(rows)).toEqual(['S-1']);
    const plan = planImport(rows, new Map());
    expect(plan.summary).toEqual({ rows: 4, toRecord: 2, alreadyRecorded: 0, repeated: 1, bad: 1, violations: 1, shipments: 1 });
    expect(plan.rows.map((r) => r.verdict)).toEqual(['record', 'record', 'repeated', 'bad']);
    expect(plan.rows[0]).toMatchObject({ fromStatus: 'None', toStatus: 'Created' });
    expect(plan.rows[1]).toMatchObject({ fromStatus: 'Created', toStatus: 'Shipped', violation: { code: 'INVALID_TRANSITION', transition: 'Created → Shipped' } });
    expect(rowNote(plan.rows[1])).toMatch(/^VIOLATION Created → Shipped/);
    expect(plan.rows[2].firstLine).toBe(2);
    expect(plan.rows[3].problems.map((p) => p.field)).toEqual(['packageCount']);
  });

  it('starts from what the ledger holds and knows what it already recorded', () => {
    const { rows } = readJsonl([fact('e-1', 'Created', T, { order }), fact('e-9', 'StatusChanged', T + 1000, { toStatus: 'PendingPicking' })].join('\n'), defaults);
    const created = planImport(rows.slice(0, 1), new Map());
    const state = { ...initialState(), status: 'Created' as const, version: 1, statusTimeline: [{ at: T, status: 'Created' as const }] };
    const known = new Map<string, KnownShipment>([['S-1', { state: { ...state, lines: [{ sku: 'SKU-A', ordered: 1, picked: 0, unitPriceMinor: 100 }] }, causes: new Set([observationCommandId('legacy-wms', 'e-1')]) }]]);
    expect(created.summary.toRecord).toBe(1);
    const plan = planImport(rows, known);
    expect(plan.rows.map((r) => r.verdict)).toEqual(['already-recorded', 'record']);
    expect(plan.rows[1]).toMatchObject({ fromStatus: 'Created', toStatus: 'PendingPicking' });
    expect(plan.rows[1].violation).toBeUndefined();
  });

  it('shows every bad row and violation, and the others up to the limit', () => {
    const { rows } = readJsonl(
      [fact('e-1', 'Created', T, { order }), fact('e-2', 'Delivered', T + 1, { receivedBy: 'x' }), fact('e-3', 'Packed', T + 2), fact('e-4', 'Cancelled', T + 3, { reason: 'r' })].join('\n'),
      defaults,
    );
    const plan = planImport(rows, new Map());
    const { shown, hidden } = rowsToShow(plan.rows, 0);
    // 2: delivered before it shipped; 3: no packageCount; 4: cancelled after delivery (terminal).
    expect(shown.map((r) => [r.line, r.verdict, r.violation?.transition])).toEqual([
      [2, 'record', 'Created → Delivered'],
      [3, 'bad', undefined],
      [4, 'record', 'Delivered → Cancelled'],
    ]);
    expect(hidden).toBe(1);
  });
});

describe("the README's examples", () => {
  const readme = readFileSync(join(__dirname, '..', '..', '..', '..', '..', 'README.md'), 'utf8');
  const block = (lang: string) => {
    const match = readme.match(new RegExp('### `waybill import observations`[\\s\\S]*?```' + lang + '\\n([\\s\\S]*?)```'));
    if (!match) throw new Error(`no ${lang} example in the README's import section`);
    return match[1];
  };

  it('the CSV example reads without a bad row and folds as documented', async () => {
    const { rows } = await readCsv(block('csv'), { reportedBy: 'import:docs', source: 'legacy-wms' });
    expect(rows.map((r) => r.problems)).toEqual([[], [], [], []]);
    const plan = planImport(rows, new Map());
    expect(plan.rows.map((r) => r.violation?.transition)).toEqual([undefined, undefined, undefined, 'Picking → Shipped']);
  });

  it('the JSONL example reads without a bad row', () => {
    const { rows } = readJsonl(block('json'), { reportedBy: 'import:docs' });
    expect(rows.map((r) => r.problems)).toEqual([[], []]);
  });
});
