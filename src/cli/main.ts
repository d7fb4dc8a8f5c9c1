import yargs, { type Argv } from 'yargs';
import { fromNative } from '../errors.js';
import { FORMATS } from '../units.js';
import { cancelledExit, EXIT, EXIT_HELP, type Command, type CommandGroup, type Io } from './command.js';
import { commands, groups } from './commands/index.js';
import { processIo } from './process-io.js';
import { OUTPUT_HELP, wantsJson } from './options.js';
import { flagOf } from './scenario-flags.js';
import { VERSION } from '../version.js';

/** Runs the CLI on `argv` (without node and script) and returns the exit code. */
export async function main(given: string[], io: Io = processIo()): Promise<number> {
  const argv = negativeValues(given);
  let exitCode: number = EXIT.ok;
  let usageError: string | undefined;
  let ran: Command | undefined;
  const cli = yargs(argv)
    .scriptName('stoq-bench')
    .version(VERSION)
    .strict()
    .demandCommand(1, 'name a command (see --help)')
    .recommendCommands()
    .epilogue(`${OUTPUT_HELP}\n\n${FORMATS}\n\n${EXIT_HELP}`)
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .exitProcess(false)
    .showHelpOnFail(false)
    // Throwing stops yargs here: without it, a failed validation would still reach the handler.
    .fail((message, error) => {
      const text = message ?? error?.message ?? 'invalid command line';
      throw new UsageError(unknownAsTyped(text, argv) ?? text);
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
          .epilogue([command.epilogue, 'json' in command.options ? OUTPUT_HELP : undefined, FORMATS, EXIT_HELP].filter(Boolean).join('\n\n'));
      },
      handler: async (args) => {
        ran = command;
        // yargs renders and caches the command's help as soon as this handler returns its promise (about
        // 100 ms of CPU for `run`): the command starts after that, so the work does not share the first
        // moments of a measurement with the engine.
        await new Promise((resolve) => setImmediate(resolve));
        if (!command.longRunning) {
          // it finishes on its own: a signal ends it at once, as for any program; one that arrived while the
          // CLI loaded ends it now (its handler runs two turns of the event loop after it arrived)
          for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
          io.releaseSignals?.();
          if (io.signal.aborted) {
            exitCode = cancelledExit(io.signal);
            return;
          }
        }
        // one output convention for every command: --json / --no-json as given, else JSON unless on a terminal
        if ('json' in command.options) args.json = wantsJson(args.json, io.isTTY);
        try {
          exitCode = await command.run(args as Record<string, unknown>, commandIo(command, io));
        } catch (error) {
          const e = fromNative(error);
          if (e.code === 'INVALID_ARGUMENT' || e.code === 'INVALID_FILE') {
            // The engine names the field at fault; the user knows it by its flag.
            const flag = e.field === undefined ? undefined : (flagOf(e.field) ?? kebab(e.field));
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
  return io.stdoutClosed?.aborted ? afterStdoutClosed(exitCode, io, ran) : exitCode;
}

class UsageError extends Error {}

/** The flag spelling of an engine option's name: `clientCa` is --client-ca. */
function kebab(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/**
 * `--duration -1s` as `--duration=-1s`: a flag that takes a value keeps one that starts with a minus sign
 * (the parser would read it as flags), so the flag's own check can say what is wrong with it.
 */
function negativeValues(argv: string[]): string[] {
  const command = commands.find((c) => c.name === argv[0] || c.aliases?.includes(argv[0]));
  if (!command) return argv;
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const flag = /^--([\w-]+)$/.exec(argv[i])?.[1];
    const option = flag === undefined ? undefined : command.options[flag];
    if (option && option.type !== 'boolean' && i + 1 < argv.length && /^-\.?\d/.test(argv[i + 1])) out.push(`${argv[i]}=${argv[++i]}`);
    else out.push(argv[i]);
  }
  return out;
}

/**
 * The Io a command sees: a command that stops when stdout closes sees the closing through its `signal`, as
 * if it were a signal.
 */
function commandIo(command: Command, io: Io): Io {
  if (!io.stdoutClosed || command.longRunning === 'service') return io;
  return { ...io, signal: AbortSignal.any([io.signal, io.stdoutClosed]) };
}

/**
 * The exit code once stdout has closed: a command that stops then exits 141 unless it has more to say (a
 * failed check, a usage or runtime error, a signal); one that keeps running reports on stderr what was not
 * printed, its last line included (a server's `stopped` line).
 */
function afterStdoutClosed(exitCode: number, io: Io, command: Command | undefined): number {
  if (command?.longRunning !== 'service') return exitCode === EXIT.ok ? EXIT.stdoutClosed : exitCode;
  const { lines, last } = io.dropped?.() ?? { lines: 0, last: undefined };
  if (lines > 0) io.stderr(`stoq-bench ${command.name}: stdout was closed by its reader; ${lines} line(s) not printed, the last:\n${last}`);
  return exitCode;
}

/**
 * yargs names an unknown flag by its parsed key, twice (`such-flag, suchFlag` for `--no-such-flag`, whose
 * `no-` it takes for a negation): the message is rewritten to name each one as it was typed, once (a key that
 * cannot be traced back to argv keeps yargs' spelling). Undefined when the message is not about unknown arguments.
 */
function unknownAsTyped(message: string, argv: readonly string[]): string | undefined {
  const listed = /^Unknown arguments?: (.+)$/.exec(message);
  if (!listed) return undefined;
  const end = argv.indexOf('--');
  const tokens = (end < 0 ? argv : argv.slice(0, end)).map((token, at) => {
    const name = token.replace(/^-+/, '').split('=')[0];
    const flag = token.startsWith('-');
    const keys = [normalKey(name), ...(token.startsWith('--no-') ? [normalKey(name.slice(3))] : [])];
    return { at, flag, keys, shown: flag ? token.split('=')[0] : token };
  });
  // A key is traced to the flag that spells it; only a key no flag spells is a stray word (a positional).
  const found = new Map<number, string>();
  const untraced: string[] = [];
  for (const key of new Set(listed[1].split(', '))) {
    const k = normalKey(key);
    const token = tokens.find((t) => t.flag && t.keys.includes(k)) ?? tokens.find((t) => !t.flag && t.keys.includes(k));
    if (token) found.set(token.at, token.shown);
    else if (![...found.values(), ...untraced].some((s) => normalKey(s.replace(/^-+/, '')) === k)) untraced.push(key);
  }
  const typed = [...new Set([...[...found.entries()].sort(([a], [b]) => a - b).map(([, shown]) => shown), ...untraced])];
  return `Unknown argument${typed.length > 1 ? 's' : ''}: ${typed.join(', ')}`;
}

/** A flag's key with camel case and dashes folded, so `such-flag` and `suchFlag` are one key. */
const normalKey = (key: string) => key.replace(/-/g, '').toLowerCase();
