// `lars route add|set|rm|ls`: the same route edits the web admin makes, each one route-change
// transaction (docs/storage.md), audited as made by "cli@<hostname>".
import { hostname } from 'node:os';
import { configFlagOptions, configFlagsUsage } from '../../config/index.js';
import { LarsError } from '../../errors.js';
import { checkPort, checkUint32, checkWeight, checkZone, parseIntegerArg, parseIpv4, type LeaseRow, type RouteRow } from '../../store/index.js';
import { moduleKey } from '../../wire/module-key.js';
import { parseCommandArgs, type Command } from '../command.js';
import { describeChange, withCliStore } from './db.js';

const USAGE = `usage: lars route add MODID CMDID IP PORT [--weight W] [--zone Z] [options]   add a node to a module's route
       lars route set MODID CMDID IP PORT [--weight W] [--zone Z] [options]   change a node's weight or zone
       lars route rm  MODID CMDID IP PORT [options]   remove a node from a module's route
       lars route pin MODID CMDID IP PORT [options]   make a registered (leased) node static: it no longer expires
       lars route ls  [MODID [CMDID]] [options]        list nodes with weight, zone and lease (all, one modid, or one module)

MODID and CMDID are integers 0..4294967295, IP a dotted-quad IPv4 address, PORT 1..65535.
W is 1..10000 (100 when not set; the weighted policies use it, policy lars ignores it). Z is
an availability zone of at most 64 characters of A-Z a-z 0-9 . _ - (like az1), or '' for none.
Each add, set or rm is one route-change transaction: the route version is bumped and DNS pushes
the new route to the agents subscribed to it. A node registered by its instance (lars register,
SDK register) shows its lease expiry under LEASE; rm removes it, but its next renewal adds it
again, so stop the instance instead (docs/registration.md). See also: lars policy.

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

const nodeOf = (r: { modid: number; cmdid: number; ip: string; port: number }): string => `${r.modid}:${r.cmdid}:${r.ip}:${r.port}`;

/** The LEASE cell: '-' for a static node, else when its lease runs out. */
function leaseCell(lease: LeaseRow | undefined, nowMs: number): string {
  if (lease === undefined) return '-';
  const left = (lease.expiresAt - nowMs) / 1000;
  return left > 0 ? `expires in ${left.toFixed(1)} s` : 'expired';
}

/** A plain text table, numbers right-aligned; weight 100, no zone and no lease are the defaults. */
function table(rows: readonly RouteRow[], leases: readonly LeaseRow[], nowMs: number): string {
  const byNode = new Map(leases.map((l) => [nodeOf(l), l]));
  const head = ['MODID', 'CMDID', 'IP', 'PORT', 'WEIGHT', 'ZONE', 'LEASE'];
  const cells = rows.map((r) => [String(r.modid), String(r.cmdid), r.ip, String(r.port), String(r.weight ?? 100), r.zone ?? '-', leaseCell(byNode.get(nodeOf(r)), nowMs)]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const right = [true, true, false, true, true, false, false];
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
          const leased = op === 'remove' && (await store.listLeases({ modid, cmdid })).some((l) => l.ip === ip && l.port === port);
          const result = await store.applyRouteChange([{ op, modid, cmdid, ip, port, ...attrs }], `cli@${hostname()}`);
          if (leased) console.log(`note: ${ip}:${port} was registered by its instance: its next renewal adds it again (stop the instance to remove it for good)`);
          const what = Object.entries(attrs).map(([k, v]) => `${k} ${v === '' ? "''" : v}`).join(', ');
          const done = { add: `added ${ip}:${port} to`, set: `set ${what} of ${ip}:${port} in`, remove: `removed ${ip}:${port} from` }[op];
          console.log(`${done} modid ${modid} cmdid ${cmdid}${op === 'add' && what !== '' ? ` (${what})` : ''}`);
          console.log(describeChange(result));
          return 0;
        });
      }
      case 'pin': {
        if (rest.length !== 4) throw usageError(`pin takes MODID CMDID IP PORT, got ${rest.length} argument${rest.length === 1 ? '' : 's'}`);
        const [m, c, ip, p] = rest as [string, string, string, string];
        const modid = id('MODID', m);
        const cmdid = id('CMDID', c);
        parseIpv4('IP', ip);
        const port = checkPort('PORT', parseIntegerArg('PORT', p));
        return withCliStore(values, false, async (store) => {
          if (!(await store.pinNode({ modid, cmdid }, ip, port))) {
            throw new LarsError('ERR_INVALID_INPUT', `route: ${ip}:${port} of modid ${modid} cmdid ${cmdid} has no lease (it is static already, or not a node): nothing was changed`);
          }
          console.log(`pinned ${ip}:${port} in modid ${modid} cmdid ${cmdid}: it is a static node now and no longer expires; its instance's registrations are refused`);
          return 0;
        });
      }
      case 'ls':
      case 'list': {
        if (rest.length > 2) throw usageError(`ls takes at most MODID and CMDID, got ${rest.length} arguments`);
        const modid = rest[0] === undefined ? undefined : id('MODID', rest[0]);
        const cmdid = rest[1] === undefined ? undefined : id('CMDID', rest[1]);
        return withCliStore(values, false, async (store) => {
          const [rows, leases, version] = [await store.listRoutes({ modid, cmdid }), await store.listLeases({ modid, cmdid }), await store.getVersion()];
          console.log(`route version ${version}`);
          if (rows.length === 0) {
            console.log(modid === undefined ? 'no routes' : `no routes for modid ${modid}${cmdid === undefined ? '' : ` cmdid ${cmdid}`}`);
            return 0;
          }
          const modules = new Set(rows.map((r) => moduleKey(r.modid, r.cmdid))).size;
          console.log(`\n${table(rows, leases, Date.now())}\n\n${rows.length} node${rows.length === 1 ? '' : 's'} in ${modules} module${modules === 1 ? '' : 's'}`);
          return 0;
        });
      }
      case undefined:
        throw usageError('say what to do: add, set, rm, pin or ls');
      default:
        throw usageError(`unknown action "${action}"`);
    }
  },
};
