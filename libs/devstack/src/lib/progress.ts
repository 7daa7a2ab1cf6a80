/** How the stack tells a person what it is doing while it downloads, formats or waits. */
export interface Progress {
  step(message: string): void;
  update(message: string): void;
  done(message: string): void;
}

const ignore = (): void => undefined;
export const silentProgress: Progress = { step: ignore, update: ignore, done: ignore };

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * On a terminal: one live status line (spinner, elapsed seconds, latest detail) replaced by a
 * check mark when the step ends. Elsewhere (CI, a log file): plain lines, updates at most every 5 s.
 */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = stream.isTTY === true;
  let current = '';
  let detail = '';
  let started = Date.now();
  let frame = 0;
  let lastPlain = 0;
  let timer: NodeJS.Timeout | undefined;
  const render = () => {
    const seconds = Math.round((Date.now() - started) / 1000);
    const line = `${FRAMES[frame++ % FRAMES.length]} ${current} (${seconds} s)${detail ? ` — ${detail}` : ''}`;
    stream.write(`\r\x1b[2K${line.slice(0, (stream.columns ?? 120) - 1)}`);
  };
  return {
    step(message) {
      current = message;
      detail = '';
      started = Date.now();
      if (tty) {
        clearInterval(timer);
        timer = setInterval(render, 100);
        timer.unref();
      } else {
        stream.write(`… ${message}\n`);
      }
    },
    update(message) {
      detail = message;
      if (!tty && Date.now() - lastPlain > 5000) {
        lastPlain = Date.now();
        stream.write(`  ${message}\n`);
      }
    },
    done(message) {
      clearInterval(timer);
      timer = undefined;
      stream.write(tty ? `\r\x1b[2K✔ ${message}\n` : `✔ ${message}\n`);
    },
  };
}
