import { Presets, SingleBar } from 'cli-progress';
import type { CliIo } from './cli-io';

/** Where a replay stands. Offsets count every offset consumed (records, markers, aborted records). */
export interface ReplayProgress {
  /** Records handed to the projection so far. */
  records: number;
  /** Offsets behind the replay's position, summed over partitions. */
  offsetsDone: number;
  /** Offsets between the start and the end of every partition replayed. */
  offsetsTotal: number;
  elapsedMs: number;
}

export interface ProgressReporter {
  update(progress: ReplayProgress): void;
  /** The last state: draws 100 % (or where it stopped) and releases the terminal. */
  stop(progress: ReplayProgress): void;
}

export interface ProgressFigures {
  percent: number;
  recordsPerSecond: number;
  lag: number;
  /** Seconds left at the rate so far; null before anything moved. */
  etaSeconds: number | null;
}

/** Rate, lag and ETA from a progress sample. Pure. */
export function progressFigures(p: ReplayProgress): ProgressFigures {
  const seconds = p.elapsedMs / 1000;
  const lag = Math.max(0, p.offsetsTotal - p.offsetsDone);
  const offsetRate = seconds > 0 ? p.offsetsDone / seconds : 0;
  return {
    percent: p.offsetsTotal > 0 ? Math.min(100, Math.floor((p.offsetsDone / p.offsetsTotal) * 100)) : 100,
    recordsPerSecond: seconds > 0 ? Math.round(p.records / seconds) : 0,
    lag,
    etaSeconds: lag === 0 ? 0 : offsetRate > 0 ? Math.ceil(lag / offsetRate) : null,
  };
}

const number = (n: number) => n.toLocaleString('en-US');

/** One plain progress line, for logs and pipes: `label: 45% 12,000 records, 30,000 events/s, lag 14,000, ETA 1s`. */
export function progressLine(label: string, p: ReplayProgress): string {
  const f = progressFigures(p);
  const eta = f.etaSeconds === null ? '?' : `${f.etaSeconds}s`;
  return `${label}: ${f.percent}% ${number(p.records)} records, ${number(f.recordsPerSecond)} events/s, lag ${number(f.lag)}, ETA ${eta}\n`;
}

/** What a progress display shows of one sample: the bar's figures and the plain line. */
export interface ProgressView<S> {
  /** The bar's cli-progress format, with `{bar}`, `{percentage}`, `{eta_formatted}` and the payload's names. */
  format: string;
  total(sample: S): number;
  done(sample: S): number;
  payload(sample: S): Record<string, string>;
  /** The plain line, for logs and pipes. */
  line(sample: S): string;
  elapsedMs(sample: S): number;
}

export interface SampleProgress<S> {
  update(sample: S): void;
  /** The last state: draws it and releases the terminal. */
  stop(sample: S): void;
}

/**
 * A bar on a terminal (cli-progress on stderr), otherwise a plain line on stderr every
 * `intervalMs` and at the end, so a log or CI job shows the work moving. `firstLineAfterMs` is how
 * long the plain display waits before its first line (default: `intervalMs`).
 */
export function sampleProgress<S>(io: CliIo, view: ProgressView<S>, options: { intervalMs?: number; quiet?: boolean; firstLineAfterMs?: number } = {}): SampleProgress<S> {
  if (options.quiet) return { update: () => undefined, stop: () => undefined };
  const tty = io.progressStream;
  if (tty) {
    const bar = new SingleBar({ stream: tty, format: view.format, hideCursor: true, etaBuffer: 50, fps: 5 }, Presets.shades_classic);
    let started = false;
    const draw = (sample: S) => {
      const total = view.total(sample);
      if (!started) {
        bar.start(Math.max(1, total), 0, view.payload(sample));
        started = true;
      }
      bar.update(total === 0 ? 1 : view.done(sample), view.payload(sample));
    };
    return {
      update: draw,
      stop(sample) {
        draw(sample);
        bar.stop();
      },
    };
  }
  const intervalMs = options.intervalMs ?? 2_000;
  let last = (options.firstLineAfterMs ?? intervalMs) - intervalMs;
  return {
    update(sample) {
      const elapsed = view.elapsedMs(sample);
      if (elapsed - last < intervalMs) return;
      last = elapsed;
      io.stderr(view.line(sample));
    },
    stop(sample) {
      io.stderr(view.line(sample));
    },
  };
}

/** A replay's progress (events/s, lag, ETA); the first plain line at the first update. */
export function progressReporter(io: CliIo, label: string, options: { intervalMs?: number; quiet?: boolean } = {}): ProgressReporter {
  return sampleProgress<ReplayProgress>(
    io,
    {
      format: `${label} {bar} {percentage}% | {records} records | {rate} events/s | lag {lag} | ETA {eta_formatted}`,
      total: (p) => p.offsetsTotal,
      done: (p) => p.offsetsDone,
      payload: (p) => {
        const f = progressFigures(p);
        return { records: number(p.records), rate: number(f.recordsPerSecond), lag: number(f.lag) };
      },
      line: (p) => progressLine(label, p),
      elapsedMs: (p) => p.elapsedMs,
    },
    { ...options, firstLineAfterMs: -Infinity },
  );
}
