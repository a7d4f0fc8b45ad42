// `lars test gethost|getroute|report|simulator|qps`: the reference's API tools, on the SDK,
// against the agent of this host (docs/spec/ROLES.md, docs/sdk.md).
import { Worker } from 'node:worker_threads';
import { configFlagOptions, configFlagsUsage, configOptionsFromFlags, loadConfig } from '../../config/index.js';
import { LarsError } from '../../errors.js';
import { createLogger } from '../../log.js';
import { implementation, type Implementation } from '../../native/addon.js';
import { LarsClient, MAX_HASH_KEY_BYTES } from '../../sdk/lars-client.js';
import { DEFAULT_VIEW_DIR } from '../../sdk/local-picker.js';
import { agentPortIndex } from '../../wire/agent-ports.js';
import { RetCode, type GetHostResult, type HostAddress, type LocalFallbacks, type SdkMode } from '../../sdk/types.js';
import { checkPort, checkUint32, parseIntegerArg, parseIpv4 } from '../../store/index.js';
import { parseCommandArgs, type Command } from '../command.js';
import { COUNTERS_PER_THREAD, Slot, type QpsWorkerData, type QpsWorkerDone } from './test-qps-worker.js';

const DEFAULT_TIMEOUT_MS = 500;
const DEFAULT_ERR_RATE = 2;
const DEFAULT_QUERIES = 1000;
const DEFAULT_QPS_SECONDS = 10;
const MAX_THREADS = 256;

const USAGE = `usage: lars test gethost MODID CMDID [--key K] [options]
                                  ask the agent for a node of the module, once (K: the affinity key, ring_hash)
       lars test getroute MODID CMDID [options]       the agent's copy of the module's route
       lars test report MODID CMDID IP PORT RETCODE [--usetime-us N]
                                  report one call (RETCODE 0 success, anything else a failure; N: its duration in µs)
       lars test simulator MODID CMDID [ERR_RATE [QUERIES]] [options]
                                  QUERIES picks (default ${DEFAULT_QUERIES}), failing ERR_RATE/10 of the calls at random
                                  (ERR_RATE 0..10, default ${DEFAULT_ERR_RATE}); prints per-node success and error counts
       lars test qps THREADS [SECONDS] [options]      THREADS worker threads looping get_host + report for
                                  SECONDS (default ${DEFAULT_QPS_SECONDS}); prints calls per second each second, then the median
                                  and the SDK mode that ran (local: picks from the agent's view, in-process)

options:
      --agent-ip IP          the agent's address (default: [agent] ip of the config, 127.0.0.1)
      --agent-port PORT      the first of the agent's three UDP ports (default: [agent] port, 8888)
      --timeout-ms MS        how long each request waits for the agent (default ${DEFAULT_TIMEOUT_MS})
      --init                 gethost, getroute: regInit first (ask until the agent has the route)
      --modid M, --cmdid C   qps: the module to ask for (default 1 1, a demo route)
      --mode auto|local|udp  qps: the SDK mode (default auto: local when the agent's view is fresh; docs/sdk.md)
      --view-dir DIR         qps: where the agent's view is (default: [agent] view_dir of the config, ${DEFAULT_VIEW_DIR})
      --json                 print one JSON object instead of text
${configFlagsUsage}
  -h, --help                 show this help

Exit status: 0 when the agent answered with a node (gethost) or a route (getroute), 3 when it answered
that it has none (RET_NOEXIST, RET_OVERLOAD), 1 when it did not answer, 2 for a usage error.`;

/** Exit status for "the agent answered, but had no node". */
const EXIT_NO_NODE = 3;

const OPTIONS = {
  ...configFlagOptions,
  'agent-ip': { type: 'string' },
  'agent-port': { type: 'string' },
  'timeout-ms': { type: 'string' },
  init: { type: 'boolean' },
  key: { type: 'string' },
  'usetime-us': { type: 'string' },
  modid: { type: 'string' },
  cmdid: { type: 'string' },
  mode: { type: 'string' },
  'view-dir': { type: 'string' },
  json: { type: 'boolean' },
} as const;

const MODES: readonly SdkMode[] = ['auto', 'local', 'udp'];

export const RET_NAMES: Record<number, string> = {
  [RetCode.Succ]: 'RET_SUCC',
  [RetCode.Overload]: 'RET_OVERLOAD',
  [RetCode.SystemError]: 'RET_SYSTEM_ERROR',
  [RetCode.NoExist]: 'RET_NOEXIST',
};

function usageError(message: string): LarsError {
  return new LarsError('ERR_USAGE', `test: ${message}\n\n${USAGE}`);
}

/** A command-line number, as a usage error (of `fail`'s command) when malformed. */
export function integer(name: string, text: string, check: (name: string, v: number) => number = checkUint32, fail: (message: string) => LarsError = usageError): number {
  try {
    return check(name, parseIntegerArg(name, text));
  } catch (err) {
    throw fail((err as Error).message);
  }
}

export function inRange(min: number, max: number): (name: string, v: number) => number {
  return (name, v) => {
    if (v < min || v > max) throw new LarsError('ERR_INVALID_INPUT', `${name} must be from ${min} to ${max}, got ${v}`);
    return v;
  };
}

const hostText = (h: HostAddress): string => `${h.ip}:${h.port}`;

export interface Target {
  readonly host: string;
  readonly port: number;
  readonly timeoutMs: number;
  readonly impl: Implementation;
  /** The agent's [agent] view_dir ('' = none). */
  readonly viewDir: string;
}

type Values = ReturnType<typeof parseCommandArgs<typeof OPTIONS>>['values'];

/** The agent to talk to: --agent-ip/--agent-port, else the [agent] section of the config. */
export function target(values: Values, fail: (message: string) => LarsError = usageError): Target {
  const log = createLogger('test');
  const config = loadConfig('agent', configOptionsFromFlags(values, { warn: (m) => log.warn(m) }));
  let host = values['agent-ip'] ?? config.agent.ip;
  if (values['agent-ip'] !== undefined) {
    try {
      parseIpv4('--agent-ip', host);
    } catch (err) {
      throw fail((err as Error).message);
    }
  }
  // An agent bound to every interface is reached on loopback.
  if (host === '0.0.0.0') host = '127.0.0.1';
  const port = values['agent-port'] !== undefined ? integer('--agent-port', values['agent-port'], inRange(1, 65533), fail) : config.agent.port;
  const timeoutMs = values['timeout-ms'] !== undefined ? integer('--timeout-ms', values['timeout-ms'], inRange(1, 600_000), fail) : DEFAULT_TIMEOUT_MS;
  return { host, port, timeoutMs, impl: implementation(config.impl), viewDir: config.agent.viewDir };
}

function silent(t: Target, modid: number, cmdid: number): LarsError {
  return new LarsError(
    'ERR_TIMEOUT',
    `test: the agent at ${t.host}:${t.port + agentPortIndex(modid, cmdid)} did not answer within ${t.timeoutMs} ms (RET_SYSTEM_ERROR): ` +
      'is "lars agent" running there? Point at it with --agent-ip/--agent-port or -c FILE ([agent] ip, port)',
  );
}

function noNodeText(retcode: number): string {
  return retcode === RetCode.Overload
    ? 'every node is overloaded and this pick was not a probe'
    : 'the agent has no route for it yet and has started pulling it from DNS; try again (or use --init), and check the module has nodes (lars route ls)';
}

async function withClient<T>(t: Target, fn: (client: LarsClient) => Promise<T>): Promise<T> {
  // cacheDir '': the tools test the agent itself, never its route cache on disk.
  const client = new LarsClient({ host: t.host, port: t.port, timeoutMs: t.timeoutMs, impl: t.impl, cacheDir: '' });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

function moduleArgs(rest: readonly string[], action: string, extra = ''): [number, number] {
  if (rest.length < 2) throw usageError(`${action} takes MODID CMDID${extra}`);
  return [integer('MODID', rest[0]!), integer('CMDID', rest[1]!)];
}

function print(json: boolean | undefined, object: unknown, text: string): void {
  console.log(json ? JSON.stringify(object) : text);
}

async function getHostTool(t: Target, rest: readonly string[], values: Values): Promise<number> {
  if (rest.length !== 2) throw usageError(`gethost takes MODID CMDID, got ${rest.length} argument${rest.length === 1 ? '' : 's'}`);
  const [modid, cmdid] = moduleArgs(rest, 'gethost');
  return withClient(t, async (client) => {
    if (values.init) await client.regInit(modid, cmdid);
    const key = values.key;
    if (key !== undefined && Buffer.byteLength(key) > MAX_HASH_KEY_BYTES) throw usageError(`--key must be at most ${MAX_HASH_KEY_BYTES} bytes`);
    const r = await client.getHost(modid, cmdid, { key });
    if (r.retcode === RetCode.SystemError) throw silent(t, modid, cmdid);
    const name = RET_NAMES[r.retcode]!;
    const where = `modid ${modid} cmdid ${cmdid}${key === undefined ? '' : ` key ${JSON.stringify(key)}`}`;
    if (r.retcode === RetCode.Succ) {
      print(values.json, { modid, cmdid, retcode: r.retcode, ret: name, ip: r.ip, port: r.port }, `${where}: ${hostText(r)} (${name})`);
      return 0;
    }
    print(values.json, { modid, cmdid, retcode: r.retcode, ret: name }, `${where}: no node (${name}): ${noNodeText(r.retcode)}`);
    return EXIT_NO_NODE;
  });
}

async function getRouteTool(t: Target, rest: readonly string[], values: Values): Promise<number> {
  if (rest.length !== 2) throw usageError(`getroute takes MODID CMDID, got ${rest.length} argument${rest.length === 1 ? '' : 's'}`);
  const [modid, cmdid] = moduleArgs(rest, 'getroute');
  return withClient(t, async (client) => {
    if (values.init) await client.regInit(modid, cmdid);
    const r = await client.getRoute(modid, cmdid);
    if (r.retcode === RetCode.SystemError) throw silent(t, modid, cmdid);
    const where = `modid ${modid} cmdid ${cmdid}`;
    const text =
      r.hosts.length === 0
        ? `${where}: no nodes (RET_NOEXIST): ${noNodeText(RetCode.NoExist)}`
        : `${where}: ${r.hosts.length} node${r.hosts.length === 1 ? '' : 's'}\n${r.hosts.map((h) => `  ${hostText(h)}`).join('\n')}`;
    print(values.json, { modid, cmdid, retcode: r.retcode, ret: RET_NAMES[r.retcode], hosts: r.hosts }, text);
    return r.hosts.length === 0 ? EXIT_NO_NODE : 0;
  });
}

async function reportTool(t: Target, rest: readonly string[], values: Values): Promise<number> {
  if (rest.length !== 5) throw usageError(`report takes MODID CMDID IP PORT RETCODE, got ${rest.length} argument${rest.length === 1 ? '' : 's'}`);
  const [modid, cmdid] = moduleArgs(rest, 'report');
  const ip = rest[2]!;
  try {
    parseIpv4('IP', ip);
  } catch (err) {
    throw usageError((err as Error).message);
  }
  const port = integer('PORT', rest[3]!, checkPort);
  const retcode = integer('RETCODE', rest[4]!, inRange(0, 0x7fffffff));
  const usetimeUs = values['usetime-us'] === undefined ? 0 : integer('--usetime-us', values['usetime-us']);
  return withClient(t, async (client) => {
    client.report(modid, cmdid, ip, port, retcode, { usetimeUs });
    const name = RET_NAMES[retcode] ?? `retcode ${retcode}`;
    const to = `${client.host}:${client.portFor(modid, cmdid)}`;
    const took = usetimeUs === 0 ? '' : ` that took ${usetimeUs} µs`;
    print(
      values.json,
      { modid, cmdid, ip, port, retcode, usetimeUs, agent: to },
      `reported ${retcode === RetCode.Succ ? 'a success' : 'a failure'} (${name})${took} of ${ip}:${port} for modid ${modid} cmdid ${cmdid} to the agent at ${to} (no reply expected)`,
    );
    return 0;
  });
}

export interface SimulatorResult {
  readonly queries: number;
  /** Per node "ip:port", in the order first picked. */
  readonly nodes: ReadonlyMap<string, { succ: number; err: number }>;
  /** Picks that found every node overloaded (RET_OVERLOAD). */
  readonly overloaded: number;
  /** Picks answered RET_NOEXIST. */
  readonly noRoute: number;
  /** Picks the agent did not answer in time. */
  readonly noAnswer: number;
}

/**
 * `queries` picks of (modid, cmdid); each picked call fails when random() * 10 < errRate and is
 * reported RET_OVERLOAD, else RET_SUCC.
 */
export async function simulate(
  client: LarsClient,
  modid: number,
  cmdid: number,
  errRate: number,
  queries: number,
  random: () => number = Math.random,
): Promise<SimulatorResult> {
  const nodes = new Map<string, { succ: number; err: number }>();
  let overloaded = 0;
  let noRoute = 0;
  let noAnswer = 0;
  for (let i = 0; i < queries; i++) {
    const r: GetHostResult = await client.getHost(modid, cmdid);
    if (r.retcode === RetCode.Succ) {
      const key = hostText(r);
      let counts = nodes.get(key);
      if (counts === undefined) nodes.set(key, (counts = { succ: 0, err: 0 }));
      const fail = random() * 10 < errRate;
      client.report(modid, cmdid, r.ip, r.port, fail ? RetCode.Overload : RetCode.Succ);
      if (fail) counts.err++;
      else counts.succ++;
    } else if (r.retcode === RetCode.Overload) overloaded++;
    else if (r.retcode === RetCode.NoExist) noRoute++;
    else noAnswer++;
  }
  return { queries, nodes, overloaded, noRoute, noAnswer };
}

function simulatorText(modid: number, cmdid: number, errRate: number, r: SimulatorResult): string {
  const rows = [...r.nodes].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }));
  const head = ['NODE', 'SUCC', 'ERR'];
  const cells = rows.map(([node, c]) => [node, String(c.succ), String(c.err)]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]) => c.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  return [
    `simulator: modid ${modid} cmdid ${cmdid}, ${r.queries} picks, failing ${errRate * 10}% of the calls`,
    '',
    line(head),
    ...cells.map(line),
    '',
    `picks with every node overloaded (RET_OVERLOAD): ${r.overloaded}`,
    `picks without a route (RET_NOEXIST): ${r.noRoute}`,
    `picks the agent did not answer (RET_SYSTEM_ERROR): ${r.noAnswer}`,
  ].join('\n');
}

async function simulatorTool(t: Target, rest: readonly string[], values: Values): Promise<number> {
  if (rest.length < 2 || rest.length > 4) throw usageError(`simulator takes MODID CMDID [ERR_RATE [QUERIES]], got ${rest.length} argument${rest.length === 1 ? '' : 's'}`);
  const [modid, cmdid] = moduleArgs(rest, 'simulator');
  const errRate = rest[2] === undefined ? DEFAULT_ERR_RATE : integer('ERR_RATE', rest[2], inRange(0, 10));
  const queries = rest[3] === undefined ? DEFAULT_QUERIES : integer('QUERIES', rest[3], inRange(1, 100_000_000));
  return withClient(t, async (client) => {
    const init = await client.regInit(modid, cmdid);
    if (init === RetCode.SystemError) throw silent(t, modid, cmdid);
    if (init === RetCode.NoExist) {
      console.error(`lars test: modid ${modid} cmdid ${cmdid} has no nodes at the agent (RET_NOEXIST): check the route (lars route ls ${modid} ${cmdid})`);
      return EXIT_NO_NODE;
    }
    const r = await simulate(client, modid, cmdid, errRate, queries);
    if (r.noAnswer === r.queries) throw silent(t, modid, cmdid);
    const json = {
      modid,
      cmdid,
      errRate,
      queries,
      nodes: Object.fromEntries(r.nodes),
      overloaded: r.overloaded,
      noRoute: r.noRoute,
      noAnswer: r.noAnswer,
    };
    print(values.json, json, simulatorText(modid, cmdid, errRate, r));
    return 0;
  });
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function qpsTool(t: Target, rest: readonly string[], values: Values): Promise<number> {
  if (rest.length < 1 || rest.length > 2) throw usageError(`qps takes THREADS [SECONDS], got ${rest.length} arguments`);
  const threads = integer('THREADS', rest[0]!, inRange(1, MAX_THREADS));
  const seconds = rest[1] === undefined ? DEFAULT_QPS_SECONDS : integer('SECONDS', rest[1], inRange(1, 86_400));
  const modid = values.modid === undefined ? 1 : integer('--modid', values.modid);
  const cmdid = values.cmdid === undefined ? 1 : integer('--cmdid', values.cmdid);
  const mode = (values.mode ?? 'auto') as SdkMode;
  if (!MODES.includes(mode)) throw usageError(`--mode must be one of ${MODES.join(', ')}, got "${values.mode}"`);
  const viewDir = values['view-dir'] ?? t.viewDir;

  // The route first, so the threads measure picks rather than the agent's first pull.
  const init = await withClient(t, (client) => client.regInit(modid, cmdid));
  if (init === RetCode.SystemError) throw silent(t, modid, cmdid);
  if (init === RetCode.NoExist) console.error(`lars test: modid ${modid} cmdid ${cmdid} has no nodes at the agent (RET_NOEXIST): measuring RET_NOEXIST answers`);

  const counters = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * (1 + threads * COUNTERS_PER_THREAD));
  const shared = new Int32Array(counters);
  const sum = (slot: number): number => {
    let total = 0;
    for (let i = 0; i < threads; i++) total += Atomics.load(shared, 1 + i * COUNTERS_PER_THREAD + slot);
    return total;
  };
  const workerUrl = new URL('./test-qps-worker.js', import.meta.url);
  const workers: Worker[] = [];
  const exited: Promise<void>[] = [];
  let failure: Error | undefined;
  const ready: Promise<void>[] = [];
  const done: QpsWorkerDone[] = [];
  for (let index = 0; index < threads; index++) {
    const data: QpsWorkerData = { host: t.host, port: t.port, timeoutMs: t.timeoutMs, impl: t.impl, modid, cmdid, mode, viewDir, counters, index };
    const w = new Worker(workerUrl, { workerData: data });
    workers.push(w);
    ready.push(new Promise((resolve) => w.once('message', () => resolve())));
    w.on('message', (m: 'ready' | QpsWorkerDone) => {
      if (m !== 'ready') done.push(m);
    });
    exited.push(
      new Promise((resolve) => {
        w.once('error', (err) => {
          failure ??= err;
          Atomics.store(shared, 0, 1);
        });
        w.once('exit', () => resolve());
      }),
    );
  }
  // A thread that dies before it is ready must not leave the wait hanging.
  await Promise.race([Promise.all(ready), Promise.all(exited)]);

  const perSecond: number[] = [];
  let last = sum(Slot.Calls);
  let lastAt = performance.now();
  for (let s = 1; s <= seconds && failure === undefined; s++) {
    await new Promise((resolve) => setTimeout(resolve, 1000 - ((performance.now() - lastAt) % 1000)));
    const now = performance.now();
    const calls = sum(Slot.Calls);
    const rate = Math.round(((calls - last) * 1000) / (now - lastAt));
    perSecond.push(rate);
    if (!values.json) console.log(`second ${s}: ${rate} calls/s (${threads} thread${threads === 1 ? '' : 's'})`);
    last = calls;
    lastAt = now;
  }
  Atomics.store(shared, 0, 1);
  await Promise.all(exited);
  if (failure !== undefined) throw failure;

  const total = sum(Slot.Calls);
  const noNode = sum(Slot.NoNode);
  const noAnswer = sum(Slot.NoAnswer);
  if (total === 0) throw silent(t, modid, cmdid);
  const ran = modeRan(done);
  const result = { threads, seconds, modid, cmdid, perSecond, median: median(perSecond), total, noNode, noAnswer, impl: t.impl, mode, ...ran };
  print(
    values.json,
    result,
    `median: ${result.median} calls/s over ${perSecond.length} s with ${threads} thread${threads === 1 ? '' : 's'} ` +
      `(${total} calls; ${noNode} answered without a node, ${noAnswer} unanswered)\n` +
      `mode: ${ran.ran} (asked ${mode}; ${ran.localPicks} picks from the agent's view, ${ran.udpPicks} over UDP; ` +
      `${ran.reportsBatched} reports in ${ran.reportBatchesSent} batches)` +
      (Object.keys(ran.fallbacks).length > 0 ? `\nfallbacks to UDP: ${Object.entries(ran.fallbacks).map(([k, v]) => `${k} ${v}`).join(', ')}` : ''),
  );
  return 0;
}

/** Which mode the threads ran in, from their clients' counters; fallbacks only where some happened. */
function modeRan(done: readonly QpsWorkerDone[]) {
  const sum = (f: (d: QpsWorkerDone) => number): number => done.reduce((a, d) => a + f(d), 0);
  const localPicks = sum((d) => d.stats.localPicks);
  const udpPicks = sum((d) => d.stats.udpPicks);
  const fallbacks: Partial<Record<keyof LocalFallbacks, number>> = {};
  for (const d of done) {
    for (const [k, v] of Object.entries(d.stats.fallbacks) as [keyof LocalFallbacks, number][]) if (v > 0) fallbacks[k] = (fallbacks[k] ?? 0) + v;
  }
  const ran = localPicks === 0 ? 'udp' : udpPicks === 0 ? 'local' : 'mixed';
  return { ran, localPicks, udpPicks, fallbacks, reportBatchesSent: sum((d) => d.stats.reportBatchesSent), reportsBatched: sum((d) => d.stats.reportsBatched) };
}

export const testCommand: Command = {
  async run(args) {
    const { values, positionals } = parseCommandArgs(USAGE, args, OPTIONS);
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const [action, ...rest] = positionals;
    if (action === undefined) throw usageError('say which tool: gethost, getroute, report, simulator or qps');
    const tools: Record<string, (t: Target, rest: readonly string[], values: Values) => Promise<number>> = {
      gethost: getHostTool,
      getroute: getRouteTool,
      report: reportTool,
      simulator: simulatorTool,
      qps: qpsTool,
    };
    const tool = tools[action];
    if (tool === undefined) throw usageError(`unknown tool "${action}"`);
    return tool(target(values), rest, values);
  },
};
