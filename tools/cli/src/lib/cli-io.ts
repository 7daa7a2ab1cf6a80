/**
 * Where the CLI writes and what environment it reads. Passed in rather than taken from `process`
 * so the integration tests run the exact command in-process and read its output.
 */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
}

export const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
};
