/**
 * Where the CLI writes and what environment it reads. Passed in rather than taken from `process`
 * so the integration tests run the exact command in-process and read its output.
 */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
  /** A terminal to draw progress bars on (stderr when it is a TTY); absent: plain progress lines. */
  progressStream?: NodeJS.WriteStream;
  /** Asks the operator a question on the terminal; absent when there is no terminal to ask on. */
  ask?: (question: string) => Promise<string>;
}

async function askOnTerminal(question: string): Promise<string> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
}

export const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  ...(process.stderr.isTTY ? { progressStream: process.stderr } : {}),
  ...(process.stdin.isTTY && process.stderr.isTTY ? { ask: askOnTerminal } : {}),
};
