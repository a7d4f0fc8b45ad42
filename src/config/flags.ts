// Turns the config flags every daemon command takes (-c FILE, --set section.key=value) into
// LoadConfigOptions, so each command parses them the same way.
import { LarsError } from '../errors.js';
import { KEYS_BY_ID } from './keys.js';
import type { LoadConfigOptions } from './types.js';

/** The parseArgs option declarations of the config flags, to spread into a command's options. */
export const configFlagOptions = {
  config: { type: 'string', short: 'c' },
  set: { type: 'string', multiple: true },
} as const;

export const configFlagsUsage = `  -c, --config FILE          INI config file (see conf/*.conf)
      --set section.key=VALUE  override one key (repeatable), e.g. --set mysql.db_name=lars_test`;

export interface ConfigFlagValues {
  /** -c FILE */
  readonly config?: string;
  /** --set section.key=value, repeatable; a later one wins. */
  readonly set?: readonly string[];
}

/**
 * LoadConfigOptions from the parsed flags; `base` supplies env, warn and networkInterfaces.
 * Throws ERR_USAGE for a --set that is not `section.key=value` of a known key.
 */
export function configOptionsFromFlags(values: ConfigFlagValues, base: Omit<LoadConfigOptions, 'file' | 'overrides'> = {}): LoadConfigOptions {
  const overrides: Record<string, string> = {};
  for (const arg of values.set ?? []) {
    const eq = arg.indexOf('=');
    const id = eq < 0 ? arg : arg.slice(0, eq).trim();
    const dot = id.indexOf('.');
    if (eq < 0 || dot <= 0 || dot === id.length - 1) {
      throw new LarsError('ERR_USAGE', `--set "${arg}": expected section.key=value, e.g. --set mysql.db_name=lars_test`);
    }
    if (!KEYS_BY_ID.has(id)) {
      throw new LarsError('ERR_USAGE', `--set "${arg}": unknown key [${id.slice(0, dot)}] ${id.slice(dot + 1)}; the keys are listed in docs/configuration.md`);
    }
    overrides[id] = arg.slice(eq + 1).trim();
  }
  return {
    ...base,
    ...(values.config !== undefined ? { file: values.config } : {}),
    ...(values.set !== undefined && values.set.length > 0 ? { overrides } : {}),
  };
}
