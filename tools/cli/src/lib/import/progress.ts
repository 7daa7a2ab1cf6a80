import { Presets, SingleBar } from 'cli-progress';
import type { CliIo } from '../cli-io';

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

/**
 * A bar on a terminal (cli-progress on stderr: count, rate, ETA), otherwise a plain line on stderr
 * every `intervalMs` and at the end, so a log or CI job shows the import moving.
 */
export function countProgress(io: CliIo, label: string, unit: string, options: { intervalMs?: number; quiet?: boolean } = {}): CountProgress {
  if (options.quiet) return { update: () => undefined, stop: () => undefined };
  const started = performance.now();
  const tty = io.progressStream;
  if (tty) {
    const bar = new SingleBar(
      { stream: tty, format: `${label} {bar} {percentage}% | {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted}`, hideCursor: true, etaBuffer: 50, fps: 5 },
      Presets.shades_classic,
    );
    let drawn = false;
    const draw = (done: number, total: number) => {
      const elapsed = performance.now() - started;
      const payload = { rate: number(elapsed > 0 ? Math.round((done / elapsed) * 1000) : 0) };
      if (!drawn) {
        bar.start(Math.max(1, total), 0, payload);
        drawn = true;
      }
      bar.update(total === 0 ? 1 : done, payload);
    };
    return {
      update: draw,
      stop(done, total) {
        draw(done, total);
        bar.stop();
      },
    };
  }
  const intervalMs = options.intervalMs ?? 2_000;
  let last = 0;
  return {
    update(done, total) {
      const elapsed = performance.now() - started;
      if (elapsed - last < intervalMs) return;
      last = elapsed;
      io.stderr(countLine(label, unit, done, total, elapsed));
    },
    stop(done, total) {
      io.stderr(countLine(label, unit, done, total, performance.now() - started));
    },
  };
}
