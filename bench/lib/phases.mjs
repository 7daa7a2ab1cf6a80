// Where a command's time goes, from the apps' own Prometheus histograms: a snapshot of an app's
// /metrics before and after a measured window, diffed, gives each phase's count, mean and
// quantiles (estimated from the buckets the way PromQL's histogram_quantile does) over exactly
// that window. The reducer reports waybill_chunk_phase_seconds{topic,phase} (wait, read, decide,
// produce, offsets, commit, store: libs/streams), a front door waybill_request_phase_seconds{phase}
// (pending, produce, answer, delivery, total: libs/command-gateway).
import { round } from './stats.mjs';

/** Parses the text exposition: series name → label string → { buckets: [[le, count]], sum, count }. */
function parseHistograms(text, names) {
  const out = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const [, series, labelText = '', valueText] = m;
    const name = names.find((n) => series === `${n}_bucket` || series === `${n}_sum` || series === `${n}_count`);
    if (!name) continue;
    const labels = Object.fromEntries([...labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => [k, v]));
    const { le, app: _app, ...rest } = labels;
    const key = `${name}|${Object.entries(rest).sort().map(([k, v]) => `${k}=${v}`).join(',')}`;
    const h = out.get(key) ?? { name, labels: rest, buckets: [], sum: 0, count: 0 };
    const value = Number(valueText);
    if (series.endsWith('_bucket')) h.buckets.push([le === '+Inf' ? Infinity : Number(le), value]);
    else if (series.endsWith('_sum')) h.sum = value;
    else h.count = value;
    out.set(key, h);
  }
  return out;
}

/** Takes a snapshot of `names` histograms at `url`/metrics; null when the app does not answer. */
export async function scrapeHistograms(url, headers, names) {
  try {
    const res = await fetch(`${url}/metrics`, { headers, signal: AbortSignal.timeout(5000) });
    if (!res.ok) return null;
    return parseHistograms(await res.text(), names);
  } catch {
    return null;
  }
}

/** The q-quantile of cumulative buckets [[le, count]] (histogram_quantile's linear interpolation). */
function bucketQuantile(buckets, q) {
  const total = buckets.at(-1)?.[1] ?? 0;
  if (!total) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (le === Infinity) return prevLe; // above the highest bucket: its bound is all we know
      return prevLe + ((le - prevLe) * (rank - prevCount)) / Math.max(1e-12, count - prevCount);
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}

/**
 * Per phase between two snapshots: { count, meanMs, p50Ms, p99Ms } for the histograms of `name`
 * whose labels match `where`, keyed by the label `by`.
 */
export function phaseDelta(before, after, name, { by = 'phase', where = {} } = {}) {
  if (!before || !after) return null;
  const out = {};
  for (const h of after.values()) {
    if (h.name !== name || Object.entries(where).some(([k, v]) => h.labels[k] !== v)) continue;
    const key = [...before.values()].find((b) => b.name === name && JSON.stringify(b.labels) === JSON.stringify(h.labels));
    const prev = new Map((key?.buckets ?? []).map(([le, c]) => [le, c]));
    const buckets = h.buckets.map(([le, c]) => [le, c - (prev.get(le) ?? 0)]).sort((a, b) => a[0] - b[0]);
    const count = h.count - (key?.count ?? 0);
    if (count <= 0) continue;
    const sum = h.sum - (key?.sum ?? 0);
    out[h.labels[by]] = {
      count,
      meanMs: round((sum * 1000) / count, 2),
      p50Ms: round(bucketQuantile(buckets, 0.5) * 1000, 2),
      p99Ms: round(bucketQuantile(buckets, 0.99) * 1000, 2),
    };
  }
  return out;
}

/** The reducer's chunk phases on `topic` (default shipment.commands) between two snapshots, in loop order. */
export const CHUNK_PHASES = ['wait', 'read', 'decide', 'produce', 'offsets', 'commit', 'store'];
export const REQUEST_PHASES = ['pending', 'produce', 'answer', 'delivery', 'total'];
export const CHUNK_METRIC = 'waybill_chunk_phase_seconds';
export const REQUEST_METRIC = 'waybill_request_phase_seconds';
export const CHUNK_SIZE_METRIC = 'waybill_batch_duration_seconds';

/** Orders a phaseDelta result by `order` (unknown phases last). */
export function ordered(delta, order) {
  if (!delta) return delta;
  return Object.fromEntries(Object.entries(delta).sort(([a], [b]) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99)));
}
