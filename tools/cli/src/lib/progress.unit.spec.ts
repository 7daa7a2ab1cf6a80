import { progressFigures, progressLine, progressReporter } from './progress';

describe('progress', () => {
  it('computes rate, lag and ETA from the offsets behind and ahead', () => {
    expect(progressFigures({ records: 5_000, offsetsDone: 5_000, offsetsTotal: 20_000, elapsedMs: 1_000 })).toEqual({
      percent: 25,
      recordsPerSecond: 5_000,
      lag: 15_000,
      etaSeconds: 3,
    });
    expect(progressFigures({ records: 0, offsetsDone: 0, offsetsTotal: 10, elapsedMs: 0 }).etaSeconds).toBeNull();
    expect(progressFigures({ records: 0, offsetsDone: 0, offsetsTotal: 0, elapsedMs: 5 })).toMatchObject({ percent: 100, lag: 0, etaSeconds: 0 });
  });

  it('prints plain lines at most every interval without a terminal, and always at the end', () => {
    const lines: string[] = [];
    const reporter = progressReporter({ stdout: () => undefined, stderr: (t) => void lines.push(t), env: {} }, 'rebuild ledger', { intervalMs: 1_000 });
    reporter.update({ records: 1, offsetsDone: 1, offsetsTotal: 4, elapsedMs: 10 });
    reporter.update({ records: 2, offsetsDone: 2, offsetsTotal: 4, elapsedMs: 500 });
    reporter.update({ records: 3, offsetsDone: 3, offsetsTotal: 4, elapsedMs: 1_200 });
    reporter.stop({ records: 4, offsetsDone: 4, offsetsTotal: 4, elapsedMs: 2_000 });
    expect(lines).toEqual([
      progressLine('rebuild ledger', { records: 1, offsetsDone: 1, offsetsTotal: 4, elapsedMs: 10 }),
      progressLine('rebuild ledger', { records: 3, offsetsDone: 3, offsetsTotal: 4, elapsedMs: 1_200 }),
      'rebuild ledger: 100% 4 records, 2 events/s, lag 0, ETA 0s\n',
    ]);
  });
});
