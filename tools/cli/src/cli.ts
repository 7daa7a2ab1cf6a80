import { Command, CommanderError } from 'commander';
import { CliError, UsageError } from './errors';
import { importCommand } from './commands/import';
import { offsetsCommand } from './commands/offsets';
import { rebuildCommand } from './commands/rebuild';
import { verifyCommand } from './commands/verify';
import { processIo, type CliIo } from './lib/cli-io';

export type { CliIo } from './lib/cli-io';

/** Exit codes: 0 done, 1 the command could not be carried out, 2 the command line is wrong. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export function buildProgram(io: CliIo): Command {
  const program = new Command('waybill')
    .description('Operator tools for Waybill, the event-sourced shipment ledger on Kafka.')
    .addCommand(offsetsCommand(io))
    .addCommand(rebuildCommand(io))
    .addCommand(verifyCommand(io))
    .addCommand(importCommand(io));
  // exitOverride and configureOutput are per command, so set them on every subcommand (at every
  // depth: `rebuild ledger`): runCli decides the exit code and the streams, never commander.
  const all = (command: Command): Command[] => [command, ...command.commands.flatMap(all)];
  for (const command of all(program)) {
    command.exitOverride().showHelpAfterError('(add --help for usage)').configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  }
  return program;
}

/**
 * Runs the CLI on `argv` (without node and the script) and resolves with the exit code instead of
 * exiting, so tests call exactly what the binary runs.
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_OK;
  } catch (err) {
    return reportError(err, io);
  }
}

function reportError(err: unknown, io: CliIo): number {
  if (err instanceof CommanderError) {
    // commander has already printed its message; --help and --version are not failures.
    // A bare `waybill` prints help too, but as a usage error ('commander.help').
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT_OK;
    return EXIT_USAGE;
  }
  if (err instanceof CliError) {
    io.stderr(`error: ${err.message}\n`);
    if (err instanceof UsageError) io.stderr('(add --help for usage)\n');
    return err.exitCode;
  }
  const error = err as Error & { name?: string };
  // kafkajs failures (unreachable broker, timeouts, authorisation) are operational, not usage.
  const kind = error?.name?.startsWith('KafkaJS') ? 'Kafka request failed' : 'unexpected failure';
  io.stderr(`error: ${kind}: ${error?.message ?? String(err)}\n`);
  if (io.env.WAYBILL_DEBUG && error?.stack) io.stderr(`${error.stack}\n`);
  return EXIT_FAILURE;
}
