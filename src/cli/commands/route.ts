// `lars route add|set|rm|ls`: the same route edits the web admin makes, each one route-change
// transaction (docs/storage.md).
import { configFlagOptions, configFlagsUsage } from '../../config/index.js';
import { LarsError } from '../../errors.js';
import { checkPort, checkUint32, checkWeight, checkZone, parseIntegerArg, parseIpv4, type RouteRow } from '../../store/index.js';
import { moduleKey } from '../../wire/module-key.js';
import { parseCommandArgs, type Command } from '../command.js';
import { describeChange, withCliStore } from './db.js';

const USAGE = `usage: lars route add MODID CMDID IP PORT [--weight W] [--zone Z] [options]   add a node to a module's route
       lars route set MODID CMDID IP PORT [--weight W] [--zone Z] [options]   change a node's weight or zone
       lars route rm  MODID CMDID IP PORT [options]   remove a node from a module's route
       lars route ls  [MODID [CMDID]] [options]        list nodes with weight and zone (all, one modid, or one module)

MODID and CMDID are integers 0..4294967295, IP a dotted-quad IPv4 address, PORT 1..65535.
W is 1..10000 (100 when not set; the weighted policies use it, policy lars ignores it). Z is
an availability zone of at most 64 characters of A-Z a-z 0-9 . _ - (like az1), or '' for none.
Each add, set or rm is one route-change transaction: the route version is bumped and DNS pushes
the new route to the agents subscribed to it. See also: lars policy.

options:
  --weight W                 the node's weight (add, set)
  --zone Z                   the node's availability zone (add, set)
${configFlagsUsage}
  -h, --help                 show this help`;

const OPTIONS = { ...configFlagOptions, weight: { type: 'string' }, zone: { type: 'string' } } as const;

function usageError(message: string): LarsError {
  return new LarsError('ERR_USAGE', `route: ${message}\n\n${USAGE}`);
}

const id = (name: string, text: string): number => checkUint32(name, parseIntegerArg(name, text));

/** A plain text table, numbers right-aligned; weight 100 and no zone are the defaults. */
function table(rows: readonly RouteRow[]): string {
  const head = ['MODID', 'CMDID', 'IP', 'PORT', 'WEIGHT', 'ZONE'];
  const cells = rows.map((r) => [String(r.modid), String(r.cmdid), r.ip, String(r.port), String(r.weight ?? 100), r.zone ?? '-']);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const right = [true, true, false, true, true, false];
  const line = (c: readonly string[]) =>
    c
      .map((v, i) => (right[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), ...cells.map(line)].join('\n');
}

export const routeCommand: Command = {
  async run(args) {
    const { values, positionals } = parseCommandArgs(USAGE, args, OPTIONS);
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const [action, ...rest] = positionals;
    switch (action) {
      case 'add':
      case 'set':
      case 'rm':
      case 'remove': {
        if (rest.length !== 4) throw usageError(`${action} takes MODID CMDID IP PORT, got ${rest.length} argument${rest.length === 1 ? '' : 's'}`);
        const [m, c, ip, p] = rest as [string, string, string, string];
        const modid = id('MODID', m);
        const cmdid = id('CMDID', c);
        parseIpv4('IP', ip);
        const port = checkPort('PORT', parseIntegerArg('PORT', p));
        const op = action === 'add' ? 'add' : action === 'set' ? 'set' : 'remove';
        const weight = values.weight === undefined ? undefined : checkWeight('--weight', parseIntegerArg('--weight', values.weight));
        const zone = values.zone === undefined ? undefined : checkZone('--zone', values.zone);
        if (op === 'remove' && (weight !== undefined || zone !== undefined)) throw usageError('rm takes no --weight or --zone');
        if (op === 'set' && weight === undefined && zone === undefined) throw usageError('set needs --weight W, --zone Z or both');
        const attrs = { ...(weight === undefined ? {} : { weight }), ...(zone === undefined ? {} : { zone }) };
        return withCliStore(values, false, async (store) => {
          const result = await store.applyRouteChange([{ op, modid, cmdid, ip, port, ...attrs }]);
          const what = Object.entries(attrs).map(([k, v]) => `${k} ${v === '' ? "''" : v}`).join(', ');
          const done = { add: `added ${ip}:${port} to`, set: `set ${what} of ${ip}:${port} in`, remove: `removed ${ip}:${port} from` }[op];
          console.log(`${done} modid ${modid} cmdid ${cmdid}${op === 'add' && what !== '' ? ` (${what})` : ''}`);
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
        throw usageError('say what to do: add, set, rm or ls');
      default:
        throw usageError(`unknown action "${action}"`);
    }
  },
};
