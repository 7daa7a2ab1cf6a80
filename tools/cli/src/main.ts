#!/usr/bin/env node
import { runCli } from './cli';

// The binary only sets the exit code; leaving via the event loop lets stdout drain, which
// process.exit() could cut short when the output is piped.
runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`error: ${String(err)}\n`);
    process.exitCode = 1;
  },
);
