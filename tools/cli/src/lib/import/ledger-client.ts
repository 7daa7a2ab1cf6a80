import { initialState, type ShipmentState } from '@waybill/shipment-domain';
import { ConnectionError } from '../../errors';
import type { KnownShipment } from './plan';

export interface LedgerClientOptions {
  /** The ledger's base URL, e.g. http://127.0.0.1:3003. */
  url: string;
  /** Any role may read; sent as X-API-Key. */
  apiKey: string;
  /** Shipments looked up at once. */
  concurrency: number;
  /** Called after each shipment is looked up. */
  onProgress?: (done: number, total: number) => void;
  /** Per request; a 429 is retried after its Retry-After for at most this long in all. */
  timeoutMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface LedgerAnswer {
  status: number;
  body: unknown;
}

async function get(options: LedgerClientOptions, path: string): Promise<LedgerAnswer> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let res: Response;
    try {
      res = await fetch(`${options.url.replace(/\/+$/, '')}${path}`, { headers: { 'x-api-key': options.apiKey, accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      const cause = (error as Error & { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      throw new ConnectionError(`the ledger at ${options.url} cannot be reached (${cause}); start it, or pass --ledger-url`, { url: options.url });
    }
    if (res.status === 429 && Date.now() < deadline) {
      // The ledger limits requests per key a minute: wait as it says, then ask again.
      const seconds = Number(res.headers.get('retry-after'));
      await res.arrayBuffer().catch(() => undefined);
      await sleep(Math.min(Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 1000, Math.max(0, deadline - Date.now())));
      continue;
    }
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: kept as text for the error message
    }
    if (res.status === 401 || res.status === 403) {
      throw new ConnectionError(`the ledger at ${options.url} refused the API key (${res.status}); set WAYBILL_API_KEY or pass --api-key (any role may read)`, { url: options.url });
    }
    return { status: res.status, body };
  }
}

function unexpected(options: LedgerClientOptions, path: string, answer: LedgerAnswer): ConnectionError {
  const message = typeof answer.body === 'object' && answer.body !== null && 'message' in answer.body ? String((answer.body as { message: unknown }).message) : String(answer.body).slice(0, 200);
  return new ConnectionError(`the ledger at ${options.url} answered GET ${path} with ${answer.status}: ${message}`, { url: options.url, status: answer.status });
}

/**
 * What the ledger holds of one shipment: its folded state (`GET /shipments/:id`, the state the
 * ledger folds with the domain's `evolveEnvelope`) and the causes of its events
 * (`GET /shipments/:id/events`: an observed event's causationId is its observation's command id).
 * A shipment the ledger does not know (404) is the initial state with no causes.
 */
export async function knownShipment(options: LedgerClientOptions, shipmentId: string): Promise<KnownShipment> {
  const id = encodeURIComponent(shipmentId);
  const statePath = `/shipments/${id}`;
  const state = await get(options, statePath);
  if (state.status === 404) return { state: initialState(), causes: new Set() };
  if (state.status !== 200) throw unexpected(options, statePath, state);
  const body = state.body as { state?: ShipmentState; version?: number };
  if (!body.state || typeof body.state !== 'object') throw unexpected(options, statePath, state);
  const eventsPath = `/shipments/${id}/events`;
  const events = await get(options, eventsPath);
  if (events.status !== 200) throw unexpected(options, eventsPath, events);
  const items = (events.body as { items?: Array<{ causationId?: string }> }).items ?? [];
  return { state: body.state, causes: new Set(items.map((e) => e.causationId).filter((c): c is string => typeof c === 'string')) };
}

/** {@link knownShipment} for every id, `concurrency` at a time. */
export async function knownShipments(options: LedgerClientOptions, ids: readonly string[]): Promise<Map<string, KnownShipment>> {
  const known = new Map<string, KnownShipment>();
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < ids.length) {
      const id = ids[next];
      next += 1;
      known.set(id, await knownShipment(options, id));
      done += 1;
      options.onProgress?.(done, ids.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, ids.length)) }, worker));
  return known;
}

/**
 * Asks the ledger something only the ledger answers (`GET /stats/status-counts`) before anything
 * else, so a wrong URL or key fails at once with one clear line instead of every shipment looking
 * unknown. Returns how many shipments it holds.
 */
export async function checkLedger(options: LedgerClientOptions): Promise<number> {
  const path = '/stats/status-counts';
  const answer = await get(options, path);
  const total = (answer.body as { total?: unknown } | null)?.total;
  if (answer.status !== 200 || typeof total !== 'number') {
    throw new ConnectionError(`${options.url} does not answer like the ledger (GET ${path}: ${answer.status}); pass the ledger's URL with --ledger-url or LEDGER_URL`, { url: options.url });
  }
  return total;
}
