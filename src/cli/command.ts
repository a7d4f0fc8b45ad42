// The shape every `lars` subcommand has; see main.ts for the registry.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { LarsError } from '../errors.js';

export interface Command {
  /** Runs the command with the arguments after its name; resolves to the exit code. */
  run(args: string[]): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;
type HelpOption = { help: { type: 'boolean'; short: 'h' } };
type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O & HelpOption; allowPositionals: true; strict: true }>>;

/**
 * Parses a subcommand's arguments with node:util parseArgs, turning its errors into
 * ERR_USAGE with the command's usage text. `--help` is always accepted.
 */
export function parseCommandArgs<O extends Options>(usage: string, args: string[], options: O): Parsed<O> {
  const help: HelpOption = { help: { type: 'boolean', short: 'h' } };
  try {
    return parseArgs({ args, options: { ...options, ...help }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new LarsError('ERR_USAGE', `${(err as Error).message}\n\n${usage}`);
  }
}
