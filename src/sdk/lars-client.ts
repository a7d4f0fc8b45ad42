// The Lars API for business processes: regInit / getHost / report / getRoute against the agent
// on this host, over UDP, datagram for datagram what the reference C++ API sends
// (docs/spec/PROTOCOL.md): one frame per datagram, everything about module (modid, cmdid) to
// agent port base + (modid + cmdid) % 3. In local mode (docs/sdk.md) picks and routes come from
// the agent's shared-memory view instead (LocalPicker) and reports go in batches (ReportBatcher).
//
// A LarsClient owns one udp4 socket (UdpTransport, bound to an ephemeral port by its first send),
// the requests waiting for a reply and one timer wheel for all their deadlines. get_host and
// report, the calls business code makes per remote call, are written and read by hand from
// per-module templates (udp-frames.ts); everything else, and any reply out of the ordinary, goes
// through the wire codec `impl` names. It lives on the event loop that created it: use one
// client per worker thread. Requests never throw for a missing or silent agent and never hang: each one
// answers after timeoutMs at the latest, from the agent's route cache on disk when it has the
// module, else RET_SYSTEM_ERROR. Only bad arguments throw (LarsError ERR_INVALID_INPUT).
import { resolve as resolvePath } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LarsError } from '../errors.js';
import { createLogger } from '../log.js';
import { DEFAULT_CACHE_DIR, DEFAULT_CACHE_MAX_AGE_MS, readCachedRoute } from '../route-cache/index.js';
import { agentPortIndex } from '../wire/agent-ports.js';
import { codecFor, type WireCodec } from '../wire/codec.js';
import { DEFAULT_LEASE_TTL_MS, leaseProblem } from '../wire/lease.js';
import { MsgId, RetCode, int32ToIp, ipToInt32, type GetRouteResponse, type RegisterRequest } from '../wire/messages.js';
import { moduleKey } from '../wire/module-key.js';
import { TimerWheel, WheelTimer } from './timer-wheel.js';
import { HostReply, ModuleFrames, readGetHostResponse } from './udp-frames.js';
import { UdpTransport } from './udp-transport.js';
import { IpStrings } from './ip-strings.js';
import { DEFAULT_VIEW_DIR, LocalPicker, addonViewOpener, type LocalViewReader } from './local-picker.js';
import { ReportBatcher } from './report-batcher.js';
import type {
  GetHostOptions,
  GetHostResult,
  GetRouteResult,
  HostAddress,
  LarsClientOptions,
  LarsClientStats,
  NoHost,
  RegisterOptions,
  Registration,
  ReportOptions,
  SdkMode,
} from './types.js';

/** A RegisterRequest is sent this many times (timeoutMs apart) before register() gives up. */
const REGISTER_ATTEMPTS = 3;

export const DEFAULT_AGENT_HOST = '127.0.0.1';
export const DEFAULT_AGENT_PORT = 8888;
export const DEFAULT_TIMEOUT_MS = 100;
export const DEFAULT_REG_INIT_ATTEMPTS = 10;
export const DEFAULT_REG_INIT_DELAY_MS = 50;
/** getHost({ key }): the longest affinity key, in bytes (the request must fit one datagram with room to spare). */
export const MAX_HASH_KEY_BYTES = 4096;

const INT32_MIN = -0x80000000;
const UINT32_MAX = 0xffffffff;
const MAX_TIMER_MS = 0x7fffffff;

/** Modules whose frames a client keeps encoded; past this many it starts again (a client asks about a few). */
const MAX_MODULE_FRAMES = 4096;
const log = createLogger('sdk');
const MODES: readonly SdkMode[] = ['auto', 'local', 'udp'];
const NO_OPTIONS: GetHostOptions = Object.freeze({});
const NO_REPORT_OPTIONS: ReportOptions = Object.freeze({});
const NO_FALLBACKS = Object.freeze({ missingModule: 0, stale: 0, missingFile: 0, layout: 0, corrupt: 0 });

/** The reader of a process without the addon's: no file, ever. */
const NO_VIEW: LocalViewReader = Object.freeze({ state: () => 'missing' as const, pick: () => -3, route: () => null, close: () => {} });

const SYSTEM_ERROR: NoHost = Object.freeze({ retcode: RetCode.SystemError });
const NO_ROUTE_REPLY: GetRouteResult = Object.freeze({ retcode: RetCode.SystemError, hosts: Object.freeze([]) });

function invalid(message: string): LarsError {
  return new LarsError('ERR_INVALID_INPUT', `lars sdk: ${message}`);
}

/** modid and cmdid: an int32, or a uint32 as the store numbers them (sent as the same 32 bits). */
function checkId(name: string, v: number): void {
  if (!Number.isInteger(v) || v < INT32_MIN || v > UINT32_MAX) throw invalid(`${name} must be an integer -2147483648..4294967295, got ${v}`);
}

function checkInt(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) throw invalid(`${name} must be an integer ${min}..${max}, got ${v}`);
  return v;
}

/** The key's bytes for GetHostRequest.hash_key; undefined when there is none. */
function hashKeyOf(key: GetHostOptions['key']): Uint8Array | undefined {
  if (key === undefined) return undefined;
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  if (!(bytes instanceof Uint8Array)) throw invalid(`key must be a string or a Uint8Array, got ${typeof key}`);
  if (bytes.length > MAX_HASH_KEY_BYTES) throw invalid(`key must be at most ${MAX_HASH_KEY_BYTES} bytes, got ${bytes.length}`);
  return bytes.length === 0 ? undefined : bytes;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host.startsWith('127.');
}

/** Microseconds since `start` (process.hrtime.bigint()), at least 1 (0 would mean "not measured"). */
function elapsedUs(start: bigint): number {
  const us = Number((process.hrtime.bigint() - start) / 1000n);
  return Math.min(Math.max(us, 1), UINT32_MAX);
}

/** A getHost waiting for its reply; the wheel expires it through the client's one timeout handler (no closure per call). */
class PendingHost extends WheelTimer {
  constructor(
    readonly seq: number,
    /** As the caller gave them (the route cache is looked up by these). */
    readonly modid: number,
    readonly cmdid: number,
    readonly frames: ModuleFrames,
    readonly resolve: (r: GetHostResult | Promise<GetHostResult>) => void,
    readonly timedOut: (p: PendingHost) => void,
  ) {
    super();
  }

  expire(): void {
    this.timedOut(this);
  }
}

/** A deadline of a request off the hot path (getRoute, register). */
class Deadline extends WheelTimer {
  constructor(readonly onExpire: () => void) {
    super();
  }

  expire(): void {
    this.onExpire();
  }
}

interface PendingRoute {
  readonly deadline: Deadline;
  readonly resolve: (r: GetRouteResult) => void;
}

/** The client's own counters; the picker and the batcher keep theirs. */
type Counters = { -readonly [K in Exclude<keyof LarsClientStats, 'fallbacks' | 'reportBatchesSent' | 'reportsBatched'>]: number };

export class LarsClient {
  readonly host: string;
  /** The base port: the agent listens on port, port + 1 and port + 2. */
  readonly port: number;
  readonly timeoutMs: number;
  readonly mode: SdkMode;
  readonly #regInitAttempts: number;
  readonly #regInitDelayMs: number;
  readonly #codec: WireCodec;
  readonly #transport: UdpTransport;
  readonly #wheel = new TimerWheel();
  /** Encoded per module, by modid then cmdid (numbers, so a lookup builds no key). */
  readonly #frames = new Map<number, Map<number, ModuleFrames>>();
  #frameCount = 0;
  /** The reply being read: one object for every datagram. */
  readonly #reply = new HostReply();
  readonly #hosts = new Map<number, PendingHost>();
  /** Route replies carry no seq: waiters per module, answered oldest first. */
  readonly #routes = new Map<string, PendingRoute[]>();
  readonly #regInitSleeps = new Set<() => void>();
  readonly #stats: Counters = {
    sent: 0,
    matched: 0,
    stale: 0,
    malformed: 0,
    unexpected: 0,
    timeouts: 0,
    fromCache: 0,
    sendErrors: 0,
    localPicks: 0,
    udpPicks: 0,
    syncMisses: 0,
  };
  readonly #ips = new IpStrings();
  /** Local mode's picker; undefined in UDP mode. */
  readonly #local: LocalPicker | undefined;
  readonly #batcher: ReportBatcher;
  readonly #batchReports: boolean | undefined;
  /** The agent's cache directory, absolute; undefined: no fallback. */
  readonly #cacheDir: string | undefined;
  /** Round-robin position per module over its cached nodes (used only while the agent is silent). */
  readonly #cacheCursor = new Map<string, number>();
  #seq = 0;
  /** RegisterResponses waited for, by seq. */
  readonly #registerWaits = new Map<number, (retcode: number) => void>();
  /** Live registrations: their renewal timers, deregistered by close(). */
  readonly #registrations = new Map<Registration, NodeJS.Timeout>();
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: LarsClientOptions = {}) {
    this.host = options.host ?? DEFAULT_AGENT_HOST;
    if (typeof this.host !== 'string' || this.host === '') throw invalid(`host must be a non-empty string, got ${JSON.stringify(this.host)}`);
    this.port = checkInt('port', options.port ?? DEFAULT_AGENT_PORT, 1, 65533);
    this.timeoutMs = checkInt('timeoutMs', options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 1, MAX_TIMER_MS);
    this.#regInitAttempts = checkInt('regInitAttempts', options.regInitAttempts ?? DEFAULT_REG_INIT_ATTEMPTS, 1, 1_000_000);
    this.#regInitDelayMs = checkInt('regInitDelayMs', options.regInitDelayMs ?? DEFAULT_REG_INIT_DELAY_MS, 0, MAX_TIMER_MS);
    this.#codec = codecFor(options.impl ?? 'ts');
    const cacheDir = options.cacheDir ?? DEFAULT_CACHE_DIR;
    if (typeof cacheDir !== 'string') throw invalid(`cacheDir must be a string, got ${JSON.stringify(cacheDir)}`);
    this.#cacheDir = cacheDir === '' ? undefined : resolvePath(cacheDir);
    this.mode = options.mode ?? 'auto';
    if (!MODES.includes(this.mode)) throw invalid(`mode must be one of ${MODES.join(', ')}, got ${JSON.stringify(this.mode)}`);
    const viewDir = options.viewDir ?? DEFAULT_VIEW_DIR;
    if (typeof viewDir !== 'string') throw invalid(`viewDir must be a string, got ${JSON.stringify(viewDir)}`);
    if (options.batchReports !== undefined && typeof options.batchReports !== 'boolean') throw invalid(`batchReports must be a boolean, got ${JSON.stringify(options.batchReports)}`);
    this.#batchReports = options.batchReports;
    // The view is this host's agent's: auto reads it only for an agent on loopback.
    const viewed = this.mode === 'local' || (this.mode === 'auto' && isLoopback(this.host));
    if (viewed && viewDir === '' && this.mode === 'local') log.warn("lars sdk: UDP mode: local mode was asked for, but viewDir is '' (no view)");
    this.#local = viewed && viewDir !== '' ? this.#openLocal(resolvePath(viewDir)) : undefined;
    this.#batcher = new ReportBatcher((index, frame) => this.#transport.send(frame, this.port + index));
    this.#transport = new UdpTransport(this.host, this.port, (datagram) => this.#onDatagram(datagram));
  }

  /** The agent port module (modid, cmdid) is sent to. */
  portFor(modid: number, cmdid: number): number {
    return this.port + agentPortIndex(modid, cmdid);
  }

  get closed(): boolean {
    return this.#closed;
  }

  get stats(): LarsClientStats {
    const t = this.#transport;
    return {
      ...this.#stats,
      sent: t.sent,
      sendErrors: t.sendErrors,
      unexpected: this.#stats.unexpected + t.unexpected,
      fallbacks: this.#local?.fallbacks ?? NO_FALLBACKS,
      ...this.#batcher.stats,
    };
  }

  /**
   * Asks the agent for the route until it knows it, so that the first getHost() finds it: the first
   * request makes the agent pull the route from DNS. Resolves RET_SUCC once the route has a node,
   * RET_NOEXIST if it still has none after regInitAttempts requests regInitDelayMs apart,
   * RET_SYSTEM_ERROR if the agent never answered.
   */
  async regInit(modid: number, cmdid: number): Promise<RetCode> {
    checkId('modid', modid);
    checkId('cmdid', cmdid);
    let answered = false;
    for (let attempt = 1; ; attempt++) {
      const r = await this.getRoute(modid, cmdid);
      if (r.retcode === RetCode.Succ) return RetCode.Succ;
      answered ||= r.retcode === RetCode.NoExist;
      if (attempt >= this.#regInitAttempts || this.#closed) break;
      await this.#sleep(this.#regInitDelayMs);
    }
    return answered ? RetCode.NoExist : RetCode.SystemError;
  }

  /**
   * Asks the agent for a node of (modid, cmdid); `key` is the request's affinity key (policy
   * ring_hash). Never rejects for agent trouble: see GetHostResult.
   */
  getHost(modid: number, cmdid: number, options: GetHostOptions = NO_OPTIONS): Promise<GetHostResult> {
    checkId('modid', modid);
    checkId('cmdid', cmdid);
    const hashKey = hashKeyOf(options.key);
    if (this.#closed) return Promise.resolve(SYSTEM_ERROR);
    if (this.#local !== undefined) {
      const local = this.#local.pick(modid, cmdid, hashKey);
      if (typeof local !== 'string') {
        this.#stats.localPicks++;
        return Promise.resolve(local);
      }
    }
    this.#stats.udpPicks++;
    const seq = this.#seq;
    this.#seq = (this.#seq + 1) >>> 0;
    const frames = this.#framesFor(modid, cmdid);
    const frame =
      hashKey === undefined
        ? frames.getHost(seq)
        : this.#codec.encodeFrame(MsgId.GetHostRequest, { seq, modid: frames.modid, cmdid: frames.cmdid, hashKey });
    return new Promise((resolve) => {
      const p = new PendingHost(seq, modid, cmdid, frames, resolve, this.#hostTimedOut);
      this.#hosts.set(seq, p);
      this.#wheel.add(p, this.timeoutMs);
      this.#transport.send(frame, frames.port, () => {
        if (this.#hosts.get(seq) !== p) return;
        this.#hosts.delete(seq);
        this.#wheel.cancel(p);
        resolve(this.#hostFromCache(modid, cmdid));
      });
    });
  }

  readonly #hostTimedOut = (p: PendingHost): void => {
    if (this.#hosts.get(p.seq) !== p) return;
    this.#hosts.delete(p.seq);
    this.#stats.timeouts++;
    p.resolve(this.#hostFromCache(p.modid, p.cmdid));
  };

  /** The module's encoded frames, made on its first use. */
  #framesFor(modid: number, cmdid: number): ModuleFrames {
    let byCmd = this.#frames.get(modid);
    let frames = byCmd?.get(cmdid);
    if (frames !== undefined) return frames;
    if (this.#frameCount >= MAX_MODULE_FRAMES) {
      this.#frames.clear();
      this.#frameCount = 0;
      byCmd = undefined;
    }
    if (byCmd === undefined) this.#frames.set(modid, (byCmd = new Map()));
    frames = new ModuleFrames(modid, cmdid, this.portFor(modid, cmdid));
    byCmd.set(cmdid, frames);
    this.#frameCount++;
    return frames;
  }

  /**
   * getHost answered at once from the agent's view, in this process (local mode). undefined when
   * the view cannot answer — UDP mode, the module not in the view yet, a stale or missing view —
   * counted in stats.syncMisses (and the cause in stats.fallbacks): then call getHost(), which asks
   * the agent over UDP (making it pull a module it does not have). Allocates only its answer.
   */
  getHostSync(modid: number, cmdid: number, options: GetHostOptions = NO_OPTIONS): GetHostResult | undefined {
    checkId('modid', modid);
    checkId('cmdid', cmdid);
    const hashKey = hashKeyOf(options.key);
    if (this.#local !== undefined && !this.#closed) {
      const local = this.#local.pick(modid, cmdid, hashKey);
      if (typeof local !== 'string') {
        this.#stats.localPicks++;
        return local;
      }
    }
    this.#stats.syncMisses++;
    return undefined;
  }

  /**
   * Tells the agent how a call to ip:port went: RET_SUCC (0) for success, anything else (use
   * RET_OVERLOAD) for a failure; `usetimeUs`, how long it took (least_latency uses it, and the
   * agent's reports carry it). Fire and forget: the agent does not answer. A no-op once closed.
   * Batched (see LarsClientOptions.batchReports) it leaves within 5 ms, in order with the
   * module's other reports.
   */
  report(modid: number, cmdid: number, ip: string, port: number, retcode: number, options: ReportOptions = NO_REPORT_OPTIONS): void {
    checkId('modid', modid);
    checkId('cmdid', cmdid);
    const ipNum = this.#ips.toInt(ip);
    checkInt('port', port, 0, 65535);
    checkInt('retcode', retcode, INT32_MIN, 0x7fffffff);
    const usetimeUs = checkInt('usetimeUs', options.usetimeUs ?? 0, 0, UINT32_MAX);
    if (this.#closed) return;
    const index = agentPortIndex(modid, cmdid);
    if (this.#batchReports ?? this.#local?.isLocal(index) ?? false) {
      this.#batcher.add(index, modid | 0, cmdid | 0, ipNum, port, retcode, usetimeUs);
      return;
    }
    // The port left local mode: what its queue holds goes first, to keep the module's order.
    this.#batcher.flushPort(index);
    const frames = this.#framesFor(modid, cmdid);
    this.#transport.send(frames.report(ipNum, port, retcode, usetimeUs), frames.port);
  }

  /** Every node of (modid, cmdid) as the agent knows it. Never rejects for agent trouble: see GetRouteResult. */
  getRoute(modid: number, cmdid: number): Promise<GetRouteResult> {
    checkId('modid', modid);
    checkId('cmdid', cmdid);
    if (this.#closed) return Promise.resolve(NO_ROUTE_REPLY);
    const local = this.#local?.route(modid, cmdid);
    if (local !== undefined && typeof local !== 'string') return Promise.resolve(local);
    const key = moduleKey(modid, cmdid);
    const frame = this.#codec.encodeFrame(MsgId.ApiGetRouteRequest, { modid: modid | 0, cmdid: cmdid | 0 });
    return new Promise((resolve) => {
      const drop = (): boolean => {
        const waiting = this.#routes.get(key);
        const i = waiting?.indexOf(pending) ?? -1;
        if (waiting === undefined || i < 0) return false;
        waiting.splice(i, 1);
        if (waiting.length === 0) this.#routes.delete(key);
        return true;
      };
      const pending: PendingRoute = {
        deadline: new Deadline(() => {
          if (drop()) {
            this.#stats.timeouts++;
            resolve(this.#routeFromCache(modid, cmdid));
          }
        }),
        resolve,
      };
      this.#wheel.add(pending.deadline, this.timeoutMs);
      const waiting = this.#routes.get(key);
      if (waiting === undefined) this.#routes.set(key, [pending]);
      else waiting.push(pending);
      this.#send(frame, modid, cmdid, () => {
        if (drop()) {
          this.#wheel.cancel(pending.deadline);
          resolve(this.#routeFromCache(modid, cmdid));
        }
      });
    });
  }

  /**
   * Wraps one remote call: picks a node (with options.key, as getHost), runs fn on it, and reports
   * RET_SUCC when fn resolves and RET_OVERLOAD when it throws (and rethrows), with fn's duration as
   * usetimeUs either way. When no node can be picked it rejects without calling fn: LarsError
   * ERR_NO_HOST (no route yet: call regInit() at start-up; every node overloaded; client closed) or
   * ERR_TIMEOUT (the agent did not answer), saying which.
   */
  async call<T>(modid: number, cmdid: number, fn: (node: HostAddress) => T | Promise<T>, options: GetHostOptions = {}): Promise<T> {
    const picked = await this.getHost(modid, cmdid, options);
    if (picked.retcode !== RetCode.Succ) throw noHostError(modid, cmdid, picked.retcode, this);
    const node: HostAddress = { ip: picked.ip, port: picked.port };
    const start = process.hrtime.bigint();
    let result: T;
    try {
      result = await fn(node);
    } catch (err) {
      this.report(modid, cmdid, node.ip, node.port, RetCode.Overload, { usetimeUs: elapsedUs(start) });
      throw err;
    }
    this.report(modid, cmdid, node.ip, node.port, RetCode.Succ, { usetimeUs: elapsedUs(start) });
    return result;
  }

  /**
   * Registers this instance's node with the agent (EXTENSIONS.md §4) and renews it every ttl/3
   * until deregister() or close(). Resolves once the agent accepted it. Throws ERR_INVALID_INPUT
   * for bad options, ERR_TIMEOUT when no agent answers, ERR_REFUSED when the agent refuses it.
   * The DNS service may still refuse it (an operator's static node, [dns] max_leases): see
   * docs/registration.md.
   */
  async register(options: RegisterOptions): Promise<Registration> {
    const { modid, cmdid, ip, port } = options;
    const ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    let ipNum: number;
    try {
      ipNum = ipToInt32(ip);
    } catch (err) {
      throw invalid(`register: ${(err as Error).message}`);
    }
    const host = { ip: ipNum, port, weight: options.weight ?? 0, zone: options.zone ?? '' };
    const problem = leaseProblem(modid, cmdid, host, ttlMs, false);
    if (problem !== undefined) throw invalid(`register: ${problem}`);
    if (this.#closed) throw new LarsError('ERR_CLOSED', 'lars sdk: register() on a closed client; create a new LarsClient');
    const request = (deregister: boolean): Omit<RegisterRequest, 'seq'> => ({ modid, cmdid, host, ttlMs, deregister });
    await this.#registerRequest(request(false));
    const registration: Registration = {
      modid,
      cmdid,
      ip,
      port,
      ttlMs,
      deregister: async () => {
        const timer = this.#registrations.get(registration);
        if (timer === undefined) return;
        clearInterval(timer);
        this.#registrations.delete(registration);
        await this.#registerRequest(request(true));
      },
    };
    // Renewals are fire and forget: a lost one is made good by the next, two more before the ttl runs out.
    const renew = setInterval(() => this.#sendRegister(request(false)), Math.floor(ttlMs / 3));
    this.#registrations.set(registration, renew);
    return registration;
  }

  /**
   * Closes the socket once the datagrams already sent are out (so a report() just before close()
   * is delivered). Requests still waiting answer RET_SYSTEM_ERROR at once; later requests do too,
   * and later reports are dropped. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closed = true;
    this.#batcher.flush();
    this.#local?.close();
    for (const p of this.#hosts.values()) {
      this.#wheel.cancel(p);
      p.resolve(SYSTEM_ERROR);
    }
    this.#hosts.clear();
    for (const waiting of this.#routes.values()) {
      for (const p of waiting) {
        this.#wheel.cancel(p.deadline);
        p.resolve(NO_ROUTE_REPLY);
      }
    }
    this.#routes.clear();
    for (const wake of this.#regInitSleeps) wake();
    // Deregistrations go out before the socket closes; their answers are not waited for.
    for (const [r, timer] of this.#registrations) {
      clearInterval(timer);
      this.#sendRegister({ modid: r.modid, cmdid: r.cmdid, host: { ip: ipToInt32(r.ip), port: r.port }, ttlMs: 0, deregister: true });
    }
    this.#registrations.clear();
    for (const wait of this.#registerWaits.values()) wait(RetCode.SystemError);
    this.#registerWaits.clear();
    this.#wheel.clear();
    this.#closing = this.#transport.close();
    return this.#closing;
  }

  /** Sends a RegisterRequest; returns its seq. */
  #sendRegister(req: Omit<RegisterRequest, 'seq'>): number {
    const seq = this.#seq;
    this.#seq = (this.#seq + 1) >>> 0;
    this.#send(this.#codec.encodeFrame(MsgId.RegisterRequest, { ...req, seq }), req.modid, req.cmdid);
    return seq;
  }

  /** Sends a RegisterRequest until the agent answers (REGISTER_ATTEMPTS × timeoutMs); throws unless it accepted. */
  async #registerRequest(req: Omit<RegisterRequest, 'seq'>): Promise<void> {
    const what = `${req.deregister ? 'deregistration' : 'registration'} of ${int32ToIp(req.host!.ip)}:${req.host!.port} for modid ${req.modid} cmdid ${req.cmdid}`;
    for (let attempt = 0; attempt < REGISTER_ATTEMPTS && !this.#closed; attempt++) {
      const seq = this.#sendRegister(req);
      const retcode = await new Promise<number | undefined>((resolve) => {
        const deadline = new Deadline(() => {
          this.#registerWaits.delete(seq);
          resolve(undefined);
        });
        this.#wheel.add(deadline, this.timeoutMs);
        this.#registerWaits.set(seq, (rc) => {
          this.#wheel.cancel(deadline);
          resolve(rc);
        });
      });
      if (retcode === undefined) continue;
      if (retcode === RetCode.Succ) return;
      if (this.#closed) break;
      throw new LarsError('ERR_REFUSED', `lars sdk: the agent refused the ${what} (retcode ${retcode}); its log says why`);
    }
    if (this.#closed) throw new LarsError('ERR_CLOSED', `lars sdk: the client was closed during the ${what}`);
    throw new LarsError(
      'ERR_TIMEOUT',
      `lars sdk: no agent answered the ${what} at ${this.host}:${this.portFor(req.modid, req.cmdid)} (${REGISTER_ATTEMPTS} × ${this.timeoutMs} ms); is "lars agent" running?`,
    );
  }

  /** Local mode's picker. When this process cannot read views (logged once) every port reads as missing. */
  #openLocal(viewDir: string): LocalPicker {
    let open = addonViewOpener();
    if (typeof open === 'string') {
      log[this.mode === 'local' ? 'warn' : 'info'](`lars sdk: UDP mode: the agent's view cannot be read in this process: ${open}`);
      open = () => NO_VIEW;
    }
    return new LocalPicker({
      viewDir,
      basePort: this.port,
      open,
      ips: this.#ips,
      log,
      fallbackLogLevel: this.mode === 'local' ? 'warn' : 'info',
      now: () => performance.now(),
    });
  }

  #send(frame: Buffer, modid: number, cmdid: number, onError?: () => void): void {
    this.#transport.send(frame, this.portFor(modid, cmdid), onError);
  }

  /** The module's nodes in the agent's cache on disk; empty when there is none usable. Read at each
   * call, never kept: the agent, once it answers again, is the only source. */
  async #cachedHosts(modid: number, cmdid: number): Promise<HostAddress[]> {
    if (this.#cacheDir === undefined) return [];
    const cached = await readCachedRoute(this.#cacheDir, modid, cmdid, DEFAULT_CACHE_MAX_AGE_MS);
    return (cached === undefined ? undefined : routeHosts(cached.route)) ?? [];
  }

  /** A getHost the agent did not answer: a cached node, round robin, else RET_SYSTEM_ERROR. */
  async #hostFromCache(modid: number, cmdid: number): Promise<GetHostResult> {
    const hosts = await this.#cachedHosts(modid, cmdid);
    if (hosts.length === 0) return SYSTEM_ERROR;
    const key = moduleKey(modid, cmdid);
    const i = (this.#cacheCursor.get(key) ?? 0) % hosts.length;
    this.#cacheCursor.set(key, i + 1);
    this.#stats.fromCache++;
    return { retcode: RetCode.Succ, ...hosts[i]!, fromCache: true };
  }

  /** A getRoute the agent did not answer: the cached nodes, else RET_SYSTEM_ERROR. */
  async #routeFromCache(modid: number, cmdid: number): Promise<GetRouteResult> {
    const hosts = await this.#cachedHosts(modid, cmdid);
    if (hosts.length === 0) return NO_ROUTE_REPLY;
    this.#stats.fromCache++;
    return { retcode: RetCode.Succ, hosts, fromCache: true };
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#regInitSleeps.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#regInitSleeps.add(wake);
    });
  }

  #onDatagram(datagram: Buffer): void {
    if (readGetHostResponse(datagram, this.#reply)) {
      this.#onHostReply(this.#reply);
      return;
    }
    const d = this.#codec.decodeDatagram(datagram);
    if (!d.ok) {
      this.#stats.malformed++;
      return;
    }
    if (d.frame.msgid === MsgId.GetHostResponse) {
      const body = this.#codec.decodeBody(MsgId.GetHostResponse, d.frame.body);
      if (body === null) this.#stats.malformed++;
      else {
        const r = this.#reply;
        r.seq = body.seq;
        r.modid = body.modid;
        r.cmdid = body.cmdid;
        r.retcode = body.retcode;
        r.hasHost = body.host !== undefined;
        r.ip = body.host?.ip ?? 0;
        r.port = body.host?.port ?? 0;
        this.#onHostReply(r);
      }
    } else if (d.frame.msgid === MsgId.RegisterResponse) {
      const body = this.#codec.decodeBody(MsgId.RegisterResponse, d.frame.body);
      if (body === null) this.#stats.malformed++;
      else {
        // A renewal's answer is not waited for: nothing to match.
        const wait = this.#registerWaits.get(body.seq);
        this.#registerWaits.delete(body.seq);
        wait?.(body.retcode);
      }
    } else if (d.frame.msgid === MsgId.ApiGetRouteResponse) {
      const body = this.#codec.decodeBody(MsgId.ApiGetRouteResponse, d.frame.body);
      if (body === null) this.#stats.malformed++;
      else this.#onRouteReply(body);
    } else {
      this.#stats.unexpected++;
    }
  }

  #onHostReply(reply: HostReply): void {
    const p = this.#hosts.get(reply.seq);
    // Not waited for: the reply to a request that timed out (an older seq), or a confused agent.
    if (p === undefined || p.frames.modid !== reply.modid || p.frames.cmdid !== reply.cmdid) {
      this.#stats.stale++;
      return;
    }
    this.#hosts.delete(reply.seq);
    this.#wheel.cancel(p);
    const result = hostResult(reply, this.#ips);
    if (result === undefined) {
      this.#stats.malformed++;
      p.resolve(SYSTEM_ERROR);
      return;
    }
    this.#stats.matched++;
    p.resolve(result);
  }

  #onRouteReply(reply: GetRouteResponse): void {
    const key = moduleKey(reply.modid, reply.cmdid);
    const waiting = this.#routes.get(key);
    const p = waiting?.shift();
    if (waiting === undefined || p === undefined) {
      this.#stats.stale++;
      return;
    }
    if (waiting.length === 0) this.#routes.delete(key);
    this.#wheel.cancel(p.deadline);
    const hosts = routeHosts(reply);
    if (hosts === undefined) {
      this.#stats.malformed++;
      p.resolve(NO_ROUTE_REPLY);
      return;
    }
    this.#stats.matched++;
    p.resolve({ retcode: hosts.length > 0 ? RetCode.Succ : RetCode.NoExist, hosts });
  }
}

const validPort = (port: number): boolean => port >= 0 && port <= 65535;

/** undefined for a reply that makes no sense (RET_SUCC without a usable host, an unknown retcode). */
function hostResult(reply: HostReply, ips: IpStrings): GetHostResult | undefined {
  switch (reply.retcode) {
    case RetCode.Succ:
      if (!reply.hasHost || !validPort(reply.port)) return undefined;
      return { retcode: RetCode.Succ, ip: ips.toIp(reply.ip), port: reply.port };
    case RetCode.Overload:
    case RetCode.NoExist:
    case RetCode.SystemError:
      return { retcode: reply.retcode };
    default:
      return undefined;
  }
}

function routeHosts(reply: GetRouteResponse): HostAddress[] | undefined {
  const hosts: HostAddress[] = [];
  for (const h of reply.host) {
    if (!validPort(h.port)) return undefined;
    hosts.push({ ip: int32ToIp(h.ip), port: h.port });
  }
  return hosts;
}

function noHostError(modid: number, cmdid: number, retcode: NoHost['retcode'], client: LarsClient): LarsError {
  const module = `modid ${modid} cmdid ${cmdid}`;
  switch (retcode) {
    case RetCode.NoExist:
      return new LarsError('ERR_NO_HOST', `lars sdk: no node for ${module}: the agent has no route for it yet (RET_NOEXIST); call regInit(${modid}, ${cmdid}) at start-up, and check the module has nodes (lars route ls ${modid} ${cmdid})`);
    case RetCode.Overload:
      return new LarsError('ERR_NO_HOST', `lars sdk: no node for ${module}: every node is overloaded (RET_OVERLOAD); back off or degrade, the agent probes them again`);
    case RetCode.SystemError:
      if (client.closed) return new LarsError('ERR_NO_HOST', `lars sdk: no node for ${module}: the client is closed (RET_SYSTEM_ERROR); create a new LarsClient`);
      return new LarsError('ERR_TIMEOUT', `lars sdk: no node for ${module}: the agent at ${client.host}:${client.portFor(modid, cmdid)} did not answer within ${client.timeoutMs} ms (RET_SYSTEM_ERROR); is "lars agent" running?`);
  }
}
