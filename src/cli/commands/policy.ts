// `lars policy set|show|rm`: a module's scheduling policy (EXTENSIONS.md §3), one ModulePolicy row
// per module, written through the route-change transaction like any route edit, so DNS pushes it.
import { configFlagOptions, configFlagsUsage } from '../../config/index.js';
import { LarsError } from '../../errors.js';
import { checkPolicy, checkUint32, parseIntegerArg, POLICY_NAMES, type ModulePolicy } from '../../store/index.js';
import { parseCommandArgs, type Command } from '../command.js';
import { describeChange, withCliStore } from './db.js';

const USAGE = `usage: lars policy set  MODID CMDID NAME [knobs] [options]   set a module's policy
       lars policy show MODID CMDID [options]                show it (lars when none is set)
       lars policy rm   MODID CMDID [options]                back to the default, lars

NAME is one of ${POLICY_NAMES.join(', ')}.
knobs (each 0 or left out = off / the default, as in the reference):
  --max-ejection-percent P   at most P% of the nodes overloaded at once (0..100; 0 = 100)
  --panic-threshold P        below P% healthy nodes, pick among all (0..100; 0 = off)
  --ejection-backoff-max MS  a node overloaded again stays out up to MS ms (0..86400000; 0 = off)
  --zone-overprovision P     zone-aware routing with overprovisioning P% (e.g. 140; 0 = off)
  --ring-size N              ring_hash points in all (0..1048576; 0 = 1024)
Each set or rm is one route-change transaction: DNS pushes the module to its agents.

options:
${configFlagsUsage}
  -h, --help                 show this help`;

/** Each knob's flag and its ModulePolicy field. */
const KNOBS = [
  ['max-ejection-percent', 'maxEjectionPercent'],
  ['panic-threshold', 'panicThreshold'],
  ['ejection-backoff-max', 'ejectionBackoffMaxMs'],
  ['zone-overprovision', 'zoneOverprovision'],
  ['ring-size', 'ringSize'],
] as const;

const OPTIONS = {
  ...configFlagOptions,
  ...Object.fromEntries(KNOBS.map(([flag]) => [flag, { type: 'string' }])),
} as typeof configFlagOptions & Record<(typeof KNOBS)[number][0], { type: 'string' }>;

function usageError(message: string): LarsError {
  return new LarsError('ERR_USAGE', `policy: ${message}\n\n${USAGE}`);
}

const id = (name: string, text: string): number => checkUint32(name, parseIntegerArg(name, text));

/** The policy as `policy show` prints it: one "name: value" line each. */
function describePolicy(p: ModulePolicy | undefined): string {
  if (p === undefined) return 'policy: lars (none set: the agent uses its [loadbalance] settings)';
  return [`policy: ${p.name}`, ...KNOBS.map(([flag, field]) => `${flag}: ${p[field]}`)].join('\n');
}

export const policyCommand: Command = {
  async run(args) {
    const { values, positionals } = parseCommandArgs(USAGE, args, OPTIONS);
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const [action, ...rest] = positionals;
    const knobsGiven = KNOBS.filter(([flag]) => values[flag] !== undefined);
    switch (action) {
      case 'set': {
        if (rest.length !== 3) throw usageError(`set takes MODID CMDID NAME, got ${rest.length} argument${rest.length === 1 ? '' : 's'}`);
        const [m, c, name] = rest as [string, string, string];
        const modid = id('MODID', m);
        const cmdid = id('CMDID', c);
        const knobs = Object.fromEntries(KNOBS.map(([flag, field]) => [field, values[flag] === undefined ? 0 : parseIntegerArg(`--${flag}`, values[flag])]));
        const policy = checkPolicy('policy', { name, ...knobs });
        return withCliStore(values, false, async (store) => {
          const result = await store.applyRouteChange([{ op: 'setPolicy', modid, cmdid, policy }]);
          console.log(`set the policy of modid ${modid} cmdid ${cmdid}:\n${describePolicy(policy)}`);
          console.log(describeChange(result));
          return 0;
        });
      }
      case 'show':
      case 'rm':
      case 'remove': {
        if (rest.length !== 2) throw usageError(`${action} takes MODID CMDID, got ${rest.length} argument${rest.length === 1 ? '' : 's'}`);
        if (knobsGiven.length > 0) throw usageError(`${action} takes no --${knobsGiven[0]![0]}`);
        const modid = id('MODID', rest[0]!);
        const cmdid = id('CMDID', rest[1]!);
        return withCliStore(values, false, async (store) => {
          if (action === 'show') {
            console.log(`modid ${modid} cmdid ${cmdid}\n${describePolicy(await store.getPolicy({ modid, cmdid }))}`);
            return 0;
          }
          const result = await store.applyRouteChange([{ op: 'removePolicy', modid, cmdid }]);
          console.log(
            result.changed.length === 0
              ? `modid ${modid} cmdid ${cmdid} had no policy set (it uses lars)`
              : `removed the policy of modid ${modid} cmdid ${cmdid}: it uses lars again`,
          );
          console.log(describeChange(result));
          return 0;
        });
      }
      case undefined:
        throw usageError('say what to do: set, show or rm');
      default:
        throw usageError(`unknown action "${action}"`);
    }
  },
};
