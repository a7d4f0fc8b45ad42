// `lars register M C IP PORT`: keeps a node registered with the agent of this host while it runs
// in the foreground (a sidecar for processes that are not Node), deregistering on SIGINT/SIGTERM
// (docs/registration.md).
import { configFlagOptions, configFlagsUsage } from '../../config/index.js';
import { createLogger } from '../../log.js';
import { LarsClient } from '../../sdk/lars-client.js';
import { DEFAULT_LEASE_TTL_MS, MAX_LEASE_TTL_MS, MIN_LEASE_TTL_MS } from '../../wire/lease.js';
import { MAX_WEIGHT } from '../../wire/route-limits.js';
import { checkPort, parseIpv4 } from '../../store/index.js';
import { parseCommandArgs, type Command } from '../command.js';
import { LarsError } from '../../errors.js';
import { inRange, integer, target } from './test.js';

const USAGE = `usage: lars register MODID CMDID IP PORT [options]
Registers node IP:PORT of module MODID CMDID with the agent of this host and keeps it registered
(renewed every ttl/3) until SIGINT or SIGTERM, which deregister it. If this process dies, the node
goes when its lease expires (ttl after the last renewal).

options:
      --weight W             1..${MAX_WEIGHT} (default 100)
      --zone Z               availability zone, e.g. az1
      --ttl MS               lease time to live, ${MIN_LEASE_TTL_MS}..${MAX_LEASE_TTL_MS} ms (default ${DEFAULT_LEASE_TTL_MS})
      --agent-ip IP          the agent's address (default: [agent] ip of the config, 127.0.0.1)
      --agent-port PORT      the first of the agent's three UDP ports (default: [agent] port, 8888)
      --timeout-ms MS        how long each request waits for the agent (default 500)
${configFlagsUsage}
  -h, --help                 show this help

Exit status: 0 after a clean deregistration, 1 when the agent did not answer or refused, 2 for a usage error.`;

function usageError(message: string): LarsError {
  return new LarsError('ERR_USAGE', `register: ${message}\n\n${USAGE}`);
}

const OPTIONS = {
  ...configFlagOptions,
  'agent-ip': { type: 'string' },
  'agent-port': { type: 'string' },
  'timeout-ms': { type: 'string' },
  weight: { type: 'string' },
  zone: { type: 'string' },
  ttl: { type: 'string' },
} as const;

export const registerCommand: Command = {
  async run(args) {
    const { values, positionals } = parseCommandArgs(USAGE, args, OPTIONS);
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (positionals.length !== 4) throw usageError('needs MODID CMDID IP PORT');
    const [m, c, ip, p] = positionals as [string, string, string, string];
    const modid = integer('MODID', m, undefined, usageError);
    const cmdid = integer('CMDID', c, undefined, usageError);
    try {
      parseIpv4('IP', ip);
    } catch (err) {
      throw usageError((err as Error).message);
    }
    const port = integer('PORT', p, checkPort, usageError);
    const weight = values.weight === undefined ? undefined : integer('--weight', values.weight, inRange(1, MAX_WEIGHT), usageError);
    const ttlMs = values.ttl === undefined ? DEFAULT_LEASE_TTL_MS : integer('--ttl', values.ttl, inRange(MIN_LEASE_TTL_MS, MAX_LEASE_TTL_MS), usageError);
    const t = target(values, usageError);
    const log = createLogger('register');
    const client = new LarsClient({ host: t.host, port: t.port, timeoutMs: t.timeoutMs, impl: t.impl, cacheDir: '' });
    try {
      const reg = await client.register({ modid, cmdid, ip, port, weight, zone: values.zone, ttlMs });
      log.info(`registered ${ip}:${port} for modid ${modid} cmdid ${cmdid} (ttl ${ttlMs} ms) with the agent at ${t.host}:${t.port}; SIGINT or SIGTERM deregisters`);
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGINT', () => resolve('SIGINT'));
        process.once('SIGTERM', () => resolve('SIGTERM'));
      });
      await reg.deregister();
      log.info(`${signal}: deregistered ${ip}:${port} for modid ${modid} cmdid ${cmdid}`);
      return 0;
    } finally {
      await client.close();
    }
  },
};
