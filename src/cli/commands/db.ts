// `lars db init` / `lars db seed`: create the schema (idempotent), load the demo routes.
import { configFlagOptions, configFlagsUsage, configOptionsFromFlags, loadConfig, type ConfigFlagValues } from '../../config/index.js';
import { LarsError } from '../../errors.js';
import { DEMO_ROUTES, openStore, type RouteChangeResult, type Store } from '../../store/index.js';
import { parseCommandArgs, type Command } from '../command.js';

const USAGE = `usage: lars db init [options]   create the schema if missing (on MySQL also the database); never drops anything
       lars db seed [options]   create the schema if missing and load the demo routes (${DEMO_ROUTES.length} modules)

options:
${configFlagsUsage}
  -h, --help                 show this help

Without any [mysql] setting the embedded SQLite store ([store] sqlite_path) is used.`;

/**
 * Opens the store the config selects and says which one it is. Shared by the db and route
 * commands; only `db` may create a SQLite file that is not there yet.
 */
export async function openCliStore(flags: ConfigFlagValues, create: boolean): Promise<Store> {
  const config = loadConfig('cli', configOptionsFromFlags(flags));
  const store = await openStore(config.store, { mustExist: !create });
  console.log(`store: ${store.description}`);
  return store;
}

/** Runs `fn` on the store and closes it, whatever happens. */
export async function withCliStore<T>(flags: ConfigFlagValues, create: boolean, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openCliStore(flags, create);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** One line about a committed route change, e.g. after `route add` or `db seed`. */
export function describeChange(result: RouteChangeResult): string {
  if (result.changed.length === 0) return `nothing changed; route version ${result.version}`;
  const modules = result.changed.map((m) => `${m.modid}/${m.cmdid}`).join(', ');
  return `route version ${result.version} (was ${result.previousVersion}); changed module${result.changed.length === 1 ? '' : 's'} (modid/cmdid): ${modules}`;
}

export const dbCommand: Command = {
  async run(args) {
    const { values, positionals } = parseCommandArgs(USAGE, args, configFlagOptions);
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const [action, ...extra] = positionals;
    if (action === undefined) throw new LarsError('ERR_USAGE', `db: say what to do: init or seed\n\n${USAGE}`);
    if (action !== 'init' && action !== 'seed') throw new LarsError('ERR_USAGE', `db: unknown action "${action}"\n\n${USAGE}`);
    if (extra.length > 0) throw new LarsError('ERR_USAGE', `db ${action}: unexpected argument "${extra[0]}"\n\n${USAGE}`);
    return withCliStore(values, true, async (store) => {
      await store.init();
      console.log('schema ready');
      if (action === 'seed') console.log(`demo routes loaded: ${describeChange(await store.seedDemo())}`);
      return 0;
    });
  },
};
