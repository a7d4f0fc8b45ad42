// `lars route add|rm|ls`: the same route edits the web admin makes, each one route-change
// transaction (docs/storage.md), audited as made by "cli@<hostname>".
import { hostname } from 'node:os';
import { configFlagOptions, configFlagsUsage } from '../../config/index.js';
import { LarsError } from '../../errors.js';
import { checkPort, checkUint32, parseIntegerArg, parseIpv4, type RouteRow } from '../../store/index.js';
import { moduleKey } from '../../wire/module-key.js';
import { parseCommandArgs, type Command } from '../command.js';
import { describeChange, withCliStore } from './db.js';

const USAGE = `usage: lars route add MODID CMDID IP PORT [options]   add a node to a module's route
       lars route rm  MODID CMDID IP PORT [options]   remove a node from a module's route
       lars route ls  [MODID [CMDID]] [options]        list nodes (all, one modid, or one module)

MODID and CMDID are integers 0..4294967295, IP a dotted-quad IPv4 address, PORT 1..65535.
Each add or rm is one route-change transaction: the route version is bumped and DNS pushes the
new route to the agents subscribed to it.

options:
${configFlagsUsage}
  -h, --help                 show this help`;

function usageError(message: string): LarsError {
  return new LarsError('ERR_USAGE', `route: ${message}\n\n${USAGE}`);
}

const id = (name: string, text: string): number => checkUint32(name, parseIntegerArg(name, text));

/** A plain text table, numbers right-aligned. */
function table(rows: readonly RouteRow[]): string {
  const head = ['MODID', 'CMDID', 'IP', 'PORT'];
  const cells = rows.map((r) => [String(r.modid), String(r.cmdid), r.ip, String(r.port)]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const right = [true, true, false, true];
  const line = (c: readonly string[]) =>
    c
      .map((v, i) => (right[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), ...cells.map(line)].join('\n');
}

export const routeCommand: Command = {
  async run(args) {
    const { values, positionals } = parseCommandArgs(USAGE, args, configFlagOptions);
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const [action, ...rest] = positionals;
    switch (action) {
      case 'add':
      case 'rm':
      case 'remove': {
        if (rest.length !== 4) throw usageError(`${action} takes MODID CMDID IP PORT, got ${rest.length} argument${rest.length === 1 ? '' : 's'}`);
        const [m, c, ip, p] = rest as [string, string, string, string];
        const modid = id('MODID', m);
        const cmdid = id('CMDID', c);
        parseIpv4('IP', ip);
        const port = checkPort('PORT', parseIntegerArg('PORT', p));
        const op = action === 'add' ? 'add' : 'remove';
        return withCliStore(values, false, async (store) => {
          const result = await store.applyRouteChange([{ op, modid, cmdid, ip, port }], `cli@${hostname()}`);
          console.log(`${op === 'add' ? 'added' : 'removed'} ${ip}:${port} ${op === 'add' ? 'to' : 'from'} modid ${modid} cmdid ${cmdid}`);
          console.log(describeChange(result));
          return 0;
        });
      }
      case 'ls':
      case 'list': {
        if (rest.length > 2) throw usageError(`ls takes at most MODID and CMDID, got ${rest.length} arguments`);
        const modid = rest[0] === undefined ? undefined : id('MODID', rest[0]);
        const cmdid = rest[1] === undefined ? undefined : id('CMDID', rest[1]);
        return withCliStore(values, false, async (store) => {
          const [rows, version] = [await store.listRoutes({ modid, cmdid }), await store.getVersion()];
          console.log(`route version ${version}`);
          if (rows.length === 0) {
            console.log(modid === undefined ? 'no routes' : `no routes for modid ${modid}${cmdid === undefined ? '' : ` cmdid ${cmdid}`}`);
            return 0;
          }
          const modules = new Set(rows.map((r) => moduleKey(r.modid, r.cmdid))).size;
          console.log(`\n${table(rows)}\n\n${rows.length} node${rows.length === 1 ? '' : 's'} in ${modules} module${modules === 1 ? '' : 's'}`);
          return 0;
        });
      }
      case undefined:
        throw usageError('say what to do: add, rm or ls');
      default:
        throw usageError(`unknown action "${action}"`);
    }
  },
};
