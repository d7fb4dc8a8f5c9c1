import yargs, { type Argv } from 'yargs';
import { fromNative } from '../errors.js';
import { FORMATS } from '../units.js';
import { EXIT, EXIT_HELP, SignalCancel, type Command, type CommandGroup, type Io } from './command.js';
import { commands, groups } from './commands/index.js';
import { flagOf } from './scenario-flags.js';
import { VERSION } from '../version.js';

/** Runs the CLI on `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  let exitCode: number = EXIT.ok;
  let usageError: string | undefined;
  const cli = yargs(argv)
    .scriptName('stoq-bench')
    .version(VERSION)
    .strict()
    .demandCommand(1, 'name a command (see --help)')
    .recommendCommands()
    .epilogue(`${FORMATS}\n\n${EXIT_HELP}`)
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .exitProcess(false)
    .showHelpOnFail(false)
    // Throwing stops yargs here: without it, a failed validation would still reach the handler.
    .fail((message, error) => {
      throw new UsageError(message ?? error?.message ?? 'invalid command line');
    });
  const register = (y: Argv, command: Command | CommandGroup, path: string): void => {
    if ('subcommands' in command) {
      y.command({
        command: command.name,
        describe: command.describe,
        builder: (sub) => {
          for (const child of command.subcommands) register(sub, child, `${path} ${child.name}`);
          return sub.demandCommand(1, `name a ${path} command (see stoq-bench ${path} --help)`);
        },
        handler: () => {},
      });
      return;
    }
    y.command({
      command: [command.name, command.usage].filter(Boolean).join(' '),
      aliases: command.aliases,
      describe: command.describe,
      builder: (sub) => {
        for (const [name, spec] of Object.entries(command.positionals ?? {})) sub.positional(name, spec);
        return sub
          .options(command.options)
          .check((args) => {
            const problem = command.check?.(args);
            if (problem) throw new Error(problem);
            return true;
          })
          .epilogue([command.epilogue, FORMATS, EXIT_HELP].filter(Boolean).join('\n\n'));
      },
      handler: async (args) => {
        try {
          exitCode = await command.run(args as Record<string, unknown>, io);
        } catch (error) {
          const e = fromNative(error);
          if (e.code === 'INVALID_ARGUMENT' || e.code === 'INVALID_FILE') {
            // The engine names the field at fault; the user knows it by its flag.
            const flag = e.field === undefined ? undefined : (flagOf(e.field) ?? e.field);
            usageError = flag !== undefined && flag in command.options ? `--${flag}: ${e.message}` : e.message;
          } else {
            io.stderr(`stoq-bench ${path}: ${e.code}: ${e.message}\n`);
            exitCode = EXIT.runtime;
          }
        }
      },
    });
  };
  for (const command of [...commands, ...groups]) register(cli, command, command.name);
  let output = '';
  try {
    await cli.parseAsync(argv, {}, (_err, _args, text) => {
      output = text;
    });
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    usageError = error.message;
  }
  if (output) (usageError ? io.stderr : io.stdout)(`${output}\n`);
  if (usageError !== undefined) {
    io.stderr(`stoq-bench: ${usageError}\n`);
    return EXIT.usage;
  }
  return exitCode;
}

class UsageError extends Error {}

/** The real process's streams and signals. */
function processIo(): Io {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort(new SignalCancel('SIGINT')));
  process.once('SIGTERM', () => controller.abort(new SignalCancel('SIGTERM')));
  const isTTY = Boolean(process.stdout.isTTY);
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    isTTY,
    color: isTTY && !process.env.NO_COLOR,
    signal: controller.signal,
  };
}
