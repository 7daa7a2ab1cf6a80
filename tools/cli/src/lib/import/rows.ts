import { parse } from 'csv-parse';
import { latestSchema, type Observation } from '@waybill/contracts';
import type { FieldError } from '@waybill/shipment-domain';
import { observationProblems } from '@waybill/shipment-messages';
import { Type } from 'avsc';

/** The two formats `waybill import observations` reads. */
export type ImportFormat = 'csv' | 'jsonl';

/** One row of the file: the Observation it describes, or what is wrong with it. */
export interface ImportRow {
  /** The line of the file the row is on (a CSV row spanning lines: the line it ends on). */
  line: number;
  /** What the row says; fields that could not be read are absent. */
  observation: Partial<Observation>;
  /** Empty when the row can be recorded; otherwise each field at fault and why. */
  problems: FieldError[];
}

/** A whole file that cannot be read as rows: a format error, not a bad row. */
export class UnreadableFileError extends Error {
  override readonly name = 'UnreadableFileError';
}

/** What `readRows` needs besides the text: the importer's identity and the default source. */
export interface RowDefaults {
  reportedBy: string;
  source?: string;
}

export interface ReadRowsResult {
  rows: ImportRow[];
  /** Things to tell the operator once (e.g. a reportedBy column that is ignored). */
  notes: string[];
}

/** Every field of an Observation a file may set: all of them but reportedBy, which is the importer's. */
const FILE_FIELDS = ['shipmentId', 'source', 'sourceId', 'process', 'observedBy', 'kind', 'occurredAt', 'toStatus', 'sku', 'quantity', 'packageCount', 'carrier', 'trackingNumber', 'receivedBy', 'reason', 'order'] as const;
const NULLABLE_FIELDS = ['process', 'toStatus', 'sku', 'quantity', 'packageCount', 'carrier', 'trackingNumber', 'receivedBy', 'reason', 'order'] as const;

/** The CSV columns of the order (kind Created): each names where in `order` its cell goes. */
export const ORDER_COLUMNS = ['orderId', 'customerAccountId', 'currency', 'lines', 'destination.name', 'destination.street', 'destination.city', 'destination.postalCode', 'destination.country'] as const;
/** Every column a CSV header may name (in any order); the order columns as in {@link ORDER_COLUMNS}. */
export const CSV_COLUMNS = [...FILE_FIELDS.filter((f) => f !== 'order'), ...ORDER_COLUMNS] as const;
const INTEGER_COLUMNS = new Set(['quantity', 'packageCount']);

const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;
const OCCURRED_AT_MESSAGE = 'must be an ISO 8601 time with a zone (2025-03-01T10:00:00Z, …+01:00) or epoch milliseconds';

/** occurredAt from a file: epoch ms (a number, or a string of digits) or an ISO 8601 time with a zone. */
export function parseOccurredAt(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^\d{1,16}$/.test(text)) {
    const ms = Number(text);
    return Number.isSafeInteger(ms) ? ms : undefined;
  }
  if (!ISO_WITH_ZONE.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isSafeInteger(ms) && ms >= 0 ? ms : undefined;
}

/**
 * The `lines` cell of a CSV order: `SKU:quantity:unitPriceMinor` per line, lines separated by `;`
 * (`SKU-A:2:1250;SKU-B:1:4999`). A SKU may contain `:` only if it is not one of the last two parts.
 */
export function parseLinesCell(cell: string): { lines?: Array<{ sku: string; quantity: number; unitPriceMinor: number }>; problems: FieldError[] } {
  const problems: FieldError[] = [];
  const lines: Array<{ sku: string; quantity: number; unitPriceMinor: number }> = [];
  cell
    .split(';')
    .map((part) => part.trim())
    .forEach((part, index) => {
      if (part === '' && index > 0) return; // a trailing ';'
      const pieces = part.split(':');
      if (pieces.length < 3) {
        problems.push({ field: `order.lines[${index}]`, message: `"${part}" is not SKU:quantity:unitPriceMinor` });
        return;
      }
      const unitPrice = pieces.pop() as string;
      const quantity = pieces.pop() as string;
      const sku = pieces.join(':');
      const q = /^\d{1,15}$/.test(quantity.trim()) ? Number(quantity) : NaN;
      const p = /^\d{1,16}$/.test(unitPrice.trim()) ? Number(unitPrice) : NaN;
      if (Number.isNaN(q)) problems.push({ field: `order.lines[${index}].quantity`, message: `"${quantity}" is not a whole number` });
      if (Number.isNaN(p)) problems.push({ field: `order.lines[${index}].unitPriceMinor`, message: `"${unitPrice}" is not a whole number of minor units` });
      lines.push({ sku, quantity: q, unitPriceMinor: p });
    });
  return problems.length ? { problems } : { lines, problems };
}

// avsc's own check of the wire record, so a row the serde would refuse is a bad row before anything is produced.
let observationType: Type | undefined;
function wireProblems(observation: Observation): FieldError[] {
  observationType ??= Type.forSchema(latestSchema('Observation').schema as never);
  if (observationType.isValid(observation, { noUndeclaredFields: true })) return [];
  const paths: string[] = [];
  observationType.isValid(observation, { noUndeclaredFields: true, errorHook: (path: string[]) => paths.push(path.join('.') || '(row)') });
  return paths.map((field) => ({ field, message: 'does not fit the Observation schema' }));
}

/** Completes a row: defaults, nulls for absent optional fields, every problem found. */
function finish(line: number, fields: Record<string, unknown>, problemsSoFar: FieldError[], defaults: RowDefaults): ImportRow {
  let readProblems = problemsSoFar;
  const observation: Record<string, unknown> = {};
  for (const name of FILE_FIELDS) if (fields[name] !== undefined && fields[name] !== null) observation[name] = fields[name];
  if (observation.source === undefined && defaults.source !== undefined) observation.source = defaults.source;
  observation.reportedBy = defaults.reportedBy;
  if (observation.occurredAt === undefined && !readProblems.some((p) => p.field === 'occurredAt')) readProblems = [...readProblems, { field: 'occurredAt', message: `is required: it ${OCCURRED_AT_MESSAGE}` }];
  const reported = new Set(readProblems.map((p) => p.field.split(/[.[]/)[0]));
  const problems = [...readProblems, ...observationProblems(observation).filter((p) => !reported.has(p.field.split(/[.[]/)[0]))];
  if (problems.length === 0) {
    for (const name of NULLABLE_FIELDS) observation[name] ??= null;
    problems.push(...wireProblems(observation as unknown as Observation));
  }
  return { line, observation: observation as Partial<Observation>, problems };
}

/** One JSON object of a JSONL file: Observation fields, `occurredAt` as ISO 8601 or epoch ms. */
function jsonRow(line: number, text: string, defaults: RowDefaults, notes: Set<string>): ImportRow {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { line, observation: {}, problems: [{ field: '(line)', message: `is not JSON: ${(error as Error).message}` }] };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { line, observation: {}, problems: [{ field: '(line)', message: 'must be one JSON object' }] };
  }
  const problems: FieldError[] = [];
  const fields: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(value)) {
    if (name === 'reportedBy') {
      notes.add('the file\'s "reportedBy" is ignored: every row is reported by the importer (--as)');
    } else if ((FILE_FIELDS as readonly string[]).includes(name)) {
      fields[name] = field;
    } else {
      problems.push({ field: name, message: 'is not a field of an Observation' });
    }
  }
  if (fields.occurredAt !== undefined && fields.occurredAt !== null) {
    const at = parseOccurredAt(fields.occurredAt);
    if (at === undefined) problems.push({ field: 'occurredAt', message: OCCURRED_AT_MESSAGE });
    fields.occurredAt = at;
  }
  return finish(line, fields, problems, defaults);
}

/** Reads a JSONL text: one object a line; blank lines are skipped. */
export function readJsonl(text: string, defaults: RowDefaults): ReadRowsResult {
  const notes = new Set<string>();
  const rows: ImportRow[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i].replace(/\r$/, '');
    if (line.trim() === '') continue;
    rows.push(jsonRow(i + 1, i === 0 ? line.replace(/^\uFEFF/, '') : line, defaults, notes));
  }
  return { rows, notes: [...notes] };
}

/** The fields of one CSV row from its cells; an empty cell is an absent field. */
function csvRow(line: number, header: readonly string[], cells: readonly string[], defaults: RowDefaults): ImportRow {
  if (cells.length !== header.length) {
    return { line, observation: {}, problems: [{ field: '(row)', message: `has ${cells.length} cells; the header has ${header.length}` }] };
  }
  const problems: FieldError[] = [];
  const fields: Record<string, unknown> = {};
  const order: Record<string, unknown> = {};
  const destination: Record<string, unknown> = {};
  header.forEach((column, index) => {
    const cell = cells[index];
    if (cell === '' || column === 'reportedBy') return;
    if (column === 'occurredAt') {
      const at = parseOccurredAt(cell);
      if (at === undefined) problems.push({ field: 'occurredAt', message: OCCURRED_AT_MESSAGE });
      fields.occurredAt = at;
    } else if (INTEGER_COLUMNS.has(column)) {
      if (/^-?\d{1,16}$/.test(cell.trim())) fields[column] = Number(cell);
      else problems.push({ field: column, message: `"${cell}" is not a whole number` });
    } else if (column === 'lines') {
      const parsed = parseLinesCell(cell);
      problems.push(...parsed.problems);
      if (parsed.lines) order.lines = parsed.lines;
    } else if (column.startsWith('destination.')) {
      destination[column.slice('destination.'.length)] = cell;
    } else if ((ORDER_COLUMNS as readonly string[]).includes(column)) {
      order[column] = cell;
    } else {
      fields[column] = cell;
    }
  });
  if (Object.keys(destination).length) order.destination = destination;
  if (Object.keys(order).length || problems.some((p) => p.field.startsWith('order.lines'))) fields.order = order;
  return finish(line, fields, problems, defaults);
}

/**
 * Reads a CSV text with a header row (csv-parse: RFC 4180 quoting, a BOM, CRLF). Columns are named
 * like the Observation fields ({@link CSV_COLUMNS}); an unknown column makes the file unreadable.
 */
export async function readCsv(text: string, defaults: RowDefaults): Promise<ReadRowsResult> {
  const notes: string[] = [];
  const rows: ImportRow[] = [];
  let header: string[] | undefined;
  const parser = parse({ bom: true, relax_column_count: true, skip_empty_lines: true, info: true });
  const done = new Promise<void>((resolve, reject) => {
    parser.on('readable', () => {
      let item: { record: string[]; info: { lines: number } } | null;
      while ((item = parser.read() as typeof item) !== null) {
        if (header === undefined) {
          header = item.record.map((h) => h.trim());
          const unknown = header.filter((h) => !(CSV_COLUMNS as readonly string[]).includes(h) && h !== 'reportedBy');
          if (unknown.length) {
            parser.destroy(new UnreadableFileError(`unknown column(s) ${unknown.map((u) => `"${u}"`).join(', ')} in the header; the columns are ${CSV_COLUMNS.join(', ')}`));
            return;
          }
          const repeated = header.filter((h, i) => header?.indexOf(h) !== i);
          if (repeated.length) {
            parser.destroy(new UnreadableFileError(`column(s) ${[...new Set(repeated)].join(', ')} appear twice in the header`));
            return;
          }
          if (header.includes('reportedBy')) notes.push('the file\'s "reportedBy" column is ignored: every row is reported by the importer (--as)');
          continue;
        }
        rows.push(csvRow(item.info.lines, header, item.record, defaults));
      }
    });
    parser.on('error', (error: Error & { code?: string; lines?: number }) =>
      reject(error instanceof UnreadableFileError ? error : new UnreadableFileError(`not readable as CSV${error.lines ? ` at line ${error.lines}` : ''}: ${error.message}`)),
    );
    parser.on('end', () => resolve());
  });
  parser.write(text);
  parser.end();
  await done;
  if (header === undefined) throw new UnreadableFileError('the CSV file is empty: it needs a header row');
  return { rows, notes };
}

/** The format a file name implies, or undefined. */
export function formatOfFile(file: string): ImportFormat | undefined {
  if (/\.csv$/i.test(file)) return 'csv';
  if (/\.(jsonl|ndjson)$/i.test(file)) return 'jsonl';
  return undefined;
}

/** Reads the rows of a file's text in `format`. A NUL byte means it is not a text file at all. */
export async function readRows(text: string, format: ImportFormat, defaults: RowDefaults): Promise<ReadRowsResult> {
  if (text.includes('\u0000')) throw new UnreadableFileError('is not a text file (it contains NUL bytes)');
  return format === 'csv' ? readCsv(text, defaults) : readJsonl(text, defaults);
}
