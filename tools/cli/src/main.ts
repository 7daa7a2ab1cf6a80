#!/usr/bin/env -S node --max-semi-space-size=128
// NOTE: the flag is the launcher's, not the code's: a replay (rebuild, verify) makes about a
// kilobyte of short-lived objects per record, and with V8's default young generation much of it is
// promoted only because it is still in flight. A larger one measured 28–29k events/s on
// bench:ledger against 23–27k. V8 takes it only at process start (v8.setFlagsFromString later
// changes nothing), hence the shebang and the same flag in `npm run waybill`.
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
