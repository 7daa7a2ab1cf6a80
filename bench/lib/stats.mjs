// Figures from raw samples: percentiles, sustained rates, and the table printed at the end.

/** The q-quantile (0..1) of `values` by nearest rank; null when there is no sample. */
export function percentile(sorted, q) {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

const round = (x, digits = 2) => (x === null || x === undefined || !Number.isFinite(x) ? null : Number(x.toFixed(digits)));

/** p50/p90/p99/max/mean of latencies in milliseconds. */
export function latencySummary(samplesMs) {
  const sorted = Float64Array.from(samplesMs).sort();
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    samples: sorted.length,
    p50Ms: round(percentile(sorted, 0.5)),
    p90Ms: round(percentile(sorted, 0.9)),
    p99Ms: round(percentile(sorted, 0.99)),
    maxMs: round(sorted.length ? sorted[sorted.length - 1] : null),
    meanMs: round(sorted.length ? sum / sorted.length : null),
  };
}

/**
 * Rates from completion times (ms, any clock, any order) of `count` units of work that began at
 * `startMs`:
 * - sustainedPerSecond: units between the 10th and the 90th percentile of completions divided by
 *   the time between them. It leaves out start-up (group join, producer init, JIT warm-up) and the
 *   tail, and is the same rule for every system measured here.
 * - overallPerSecond: all units over the time from `startMs` to the last completion.
 */
export function rates(completionsMs, startMs) {
  const t = Float64Array.from(completionsMs).sort();
  const n = t.length;
  const out = { count: n, overallPerSecond: null, sustainedPerSecond: null, wallSeconds: null };
  if (n === 0) return out;
  const wallMs = t[n - 1] - startMs;
  out.wallSeconds = round(wallMs / 1000, 3);
  out.overallPerSecond = round(wallMs > 0 ? n / (wallMs / 1000) : null, 0);
  const lo = Math.floor(0.1 * (n - 1));
  const hi = Math.ceil(0.9 * (n - 1));
  const spanMs = t[hi] - t[lo];
  out.sustainedPerSecond = round(hi > lo && spanMs > 0 ? (hi - lo) / (spanMs / 1000) : out.overallPerSecond, 0);
  return out;
}

/** A plain-text table: rows of cells, first row the header. */
export function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c] ?? '').length)));
  const line = (r) => r.map((cell, c) => String(cell ?? '').padEnd(widths[c])).join('  ').trimEnd();
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

export { round };
