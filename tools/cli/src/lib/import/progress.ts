import type { CliIo } from '../cli-io';
import { sampleProgress } from '../progress';

export interface CountProgress {
  update(done: number, total: number): void;
  /** The last state: draws it and releases the terminal. */
  stop(done: number, total: number): void;
}

const number = (x: number) => x.toLocaleString('en-US');

/** `label: 45% 45,000 of 100,000 rows, 30,000 rows/s, ETA 2s`. Pure. */
export function countLine(label: string, unit: string, done: number, total: number, elapsedMs: number): string {
  const percent = total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 100;
  const rate = elapsedMs > 0 ? Math.round((done / elapsedMs) * 1000) : 0;
  const eta = done >= total ? '0s' : rate > 0 ? `${Math.ceil((total - done) / rate)}s` : '?';
  return `${label}: ${percent}% ${number(done)} of ${number(total)} ${unit}, ${number(rate)} ${unit}/s, ETA ${eta}\n`;
}

/** A count's progress (rate, ETA), through the CLI's one progress display; the first plain line after `intervalMs`. */
export function countProgress(io: CliIo, label: string, unit: string, options: { intervalMs?: number; quiet?: boolean } = {}): CountProgress {
  const started = performance.now();
  const rate = (done: number, elapsedMs: number) => (elapsedMs > 0 ? Math.round((done / elapsedMs) * 1000) : 0);
  const display = sampleProgress<{ done: number; total: number; elapsedMs: number }>(
    io,
    {
      format: `${label} {bar} {percentage}% | {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted}`,
      total: (c) => c.total,
      done: (c) => c.done,
      payload: (c) => ({ rate: number(rate(c.done, c.elapsedMs)) }),
      line: (c) => countLine(label, unit, c.done, c.total, c.elapsedMs),
      elapsedMs: (c) => c.elapsedMs,
    },
    options,
  );
  const sample = (done: number, total: number) => ({ done, total, elapsedMs: performance.now() - started });
  return {
    update: (done, total) => display.update(sample(done, total)),
    stop: (done, total) => display.stop(sample(done, total)),
  };
}
