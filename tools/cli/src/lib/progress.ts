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

/**
 * A bar on a terminal (cli-progress on stderr: events/s, lag, ETA), otherwise a plain line on
 * stderr every `intervalMs` and at the end, so a log or CI job shows the replay moving.
 */
export function progressReporter(io: CliIo, label: string, options: { intervalMs?: number; quiet?: boolean } = {}): ProgressReporter {
  if (options.quiet) return { update: () => undefined, stop: () => undefined };
  const tty = io.progressStream;
  if (tty) {
    const bar = new SingleBar(
      {
        stream: tty,
        format: `${label} {bar} {percentage}% | {records} records | {rate} events/s | lag {lag} | ETA {eta_formatted}`,
        hideCursor: true,
        etaBuffer: 50,
        fps: 5,
      },
      Presets.shades_classic,
    );
    let started = false;
    const draw = (p: ReplayProgress) => {
      const f = progressFigures(p);
      const payload = { records: number(p.records), rate: number(f.recordsPerSecond), lag: number(f.lag) };
      if (!started) {
        bar.start(Math.max(1, p.offsetsTotal), 0, payload);
        started = true;
      }
      bar.update(p.offsetsTotal === 0 ? 1 : p.offsetsDone, payload);
    };
    return {
      update: draw,
      stop(p) {
        draw(p);
        bar.stop();
      },
    };
  }
  const intervalMs = options.intervalMs ?? 2_000;
  let last = -Infinity;
  return {
    update(p) {
      if (p.elapsedMs - last < intervalMs) return;
      last = p.elapsedMs;
      io.stderr(progressLine(label, p));
    },
    stop(p) {
      io.stderr(progressLine(label, p));
    },
  };
}
