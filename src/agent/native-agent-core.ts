// The native agent core: the three UDP ports are served by C++ loop threads (native/agent), each
// owning its port's balancer; no JavaScript runs per request. TypeScript hears about route pulls
// and route reports in batches and sends whole host sets and DNS reconnects.
import { randomInt } from 'node:crypto';
import type { ModuleId, RouteHost, RoutePolicy, RouteReport } from '../balancer/index.js';
import { checkBalancerConfig, packHosts } from '../balancer/index.js';
import type { NodeResult, NodeStats } from '../balancer/route.js';
import { LarsError } from '../errors.js';
import { createLogger } from '../log.js';
import { loadNative } from '../native/addon.js';
import type { NativeAgentServer } from '../native/types.js';
import type { AgentCore, AgentCoreOptions, AgentCoreStats, RegisterDatagram, SeedRoute } from './agent-core.js';

const log = createLogger('agent');

/** Int32Array [modid, cmdid, ...] → modules. */
function modulesOf(pairs: Int32Array): ModuleId[] {
  const out: ModuleId[] = [];
  for (let i = 0; i + 1 < pairs.length; i += 2) out.push({ modid: pairs[i]!, cmdid: pairs[i + 1]! });
  return out;
}

/** The binding's flat batch: per route modid, cmdid, n, then n × (ip, port, succ, err, overload,
 * usetimeSumUs, usetimeMaxUs, timedCalls). */
function reportsOf(flat: Float64Array): RouteReport[] {
  const out: RouteReport[] = [];
  let i = 0;
  while (i + 3 <= flat.length) {
    const modid = flat[i++]!;
    const cmdid = flat[i++]!;
    const n = flat[i++]!;
    const results: NodeResult[] = [];
    for (let k = 0; k < n; k++, i += 8) {
      results.push({
        ip: flat[i]!,
        port: flat[i + 1]!,
        succ: flat[i + 2]!,
        err: flat[i + 3]!,
        overload: flat[i + 4] === 1,
        usetimeSumUs: flat[i + 5]!,
        usetimeMaxUs: flat[i + 6]!,
        timedCalls: flat[i + 7]!,
      });
    }
    out.push({ modid, cmdid, results });
  }
  return out;
}

/** Runs a control-plane callback from a ThreadSafeFunction: an exception there would be uncaught. */
function guarded<T>(what: string, fn: (v: T) => void): (v: T) => void {
  return (v) => {
    try {
      fn(v);
    } catch (err) {
      log.limited('error', `agent-${what}`, `agent ${what} handler failed: ${String(err)}`);
    }
  };
}

export class NativeAgentCore implements AgentCore {
  readonly impl = 'native' as const;
  private server: NativeAgentServer | undefined;

  constructor(private readonly opts: AgentCoreOptions) {}

  async listen(seeds: readonly SeedRoute[] = []): Promise<readonly number[]> {
    const { AgentServer } = loadNative().agent;
    const onPulls = guarded('pulls', this.opts.onPulls);
    const onReports = guarded('reports', this.opts.onReports);
    const onRegisters = guarded('registers', this.opts.onRegisters);
    try {
      this.server = new AgentServer(
        {
          ip: this.opts.ip,
          port: this.opts.port,
          reportIntervalMs: this.opts.reportIntervalMs,
          // A random seed per agent: agents across a fleet must not draw in lock step.
          loadbalance: checkBalancerConfig(this.opts.loadbalance, this.opts.limits, randomInt(0, 2 ** 32)),
          viewDir: this.opts.viewDir ?? '',
          // Seeded in the constructor, before the ports read their first datagram.
          seeds: seeds.map((r) => ({ modid: r.modid, cmdid: r.cmdid, ...packHosts(r.hosts), ...(r.policy === undefined ? {} : { policy: r.policy }) })),
        },
        (pairs) => onPulls(modulesOf(pairs)),
        (flat) => onReports(reportsOf(flat)),
        onRegisters,
      );
    } catch (err) {
      throw new LarsError(
        'ERR_CONFIG',
        `${(err as Error).message}; choose another [agent] port (three consecutive UDP ports are needed) or stop what holds them`,
        { cause: err },
      );
    }
    return this.server.ports();
  }

  applyRoute(modid: number, cmdid: number, hosts: readonly RouteHost[], policy?: RoutePolicy): void {
    const { flat, zones } = packHosts(hosts);
    this.server?.applyRoute(modid, cmdid, flat, zones, policy); // after close(): nothing to update
  }

  onDnsReconnected(): void {
    this.server?.onDnsReconnected();
  }

  reply(to: RegisterDatagram, msgid: number, body: Uint8Array): void {
    this.server?.reply(to.port, to.ip, to.peerPort, msgid, body);
  }

  stats(): AgentCoreStats {
    return this.running().stats();
  }

  nodeStats(limit: number): NodeStats[] {
    return this.running().nodeStats(limit);
  }

  async close(): Promise<void> {
    const last = this.server?.close();
    this.server = undefined;
    if (last !== undefined && last.length > 0) guarded('reports', this.opts.onReports)(reportsOf(last));
  }

  private running(): NativeAgentServer {
    if (this.server === undefined) throw new LarsError('ERR_USAGE', 'the agent core is not listening: call listen() first');
    return this.server;
  }
}
