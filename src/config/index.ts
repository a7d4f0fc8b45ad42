// Configuration: INI file + LARS_* environment + flags → one frozen typed object per role.
export type * from './types.js';
export { loadConfig } from './load-config.js';
export { configFlagOptions, configFlagsUsage, configOptionsFromFlags, type ConfigFlagValues } from './flags.js';
export { parseIni, type IniEntry } from './ini.js';
export { CONFIG_KEYS, envName, defaultDoc, firstExternalIpv4, parseValue, type KeySpec, type ValueType, type ConfigValue } from './keys.js';
