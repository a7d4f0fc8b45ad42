// The SDK's local mode (EXTENSIONS §5): picks and routes answered in-process from the agent's
// shared-memory view, one file per agent port, through the addon's LocalView reader (the same
// policy code as the agent, with this process's own cursor and probe counter).
//
// A port whose view cannot answer (stale heartbeat, missing file, another layout, corrupt) is
// in UDP mode until its next check, at most VIEW_RECHECK_MS later: then the file is opened anew
// (a restarted agent writes a new one), so the client comes back to local mode by itself. Each
// cause is logged once per client and every pick it sends to UDP is counted.
//
// Lives on its LarsClient's event loop; no timer of its own (checks happen on use).
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { loadNative, type NativeAddon } from '../native/addon.js';
import type { LocalViewState, NativeLocalView } from '../native/types.js';
import { RetCode } from '../wire/messages.js';
import { AGENT_PORT_COUNT, agentPortIndex } from '../wire/agent-ports.js';
import type { IpStrings } from './ip-strings.js';
import type { GetHostResult, GetRouteResult, HostAddress, LocalFallbacks } from './types.js';

/** The agent's default [agent] view_dir. */
export const DEFAULT_VIEW_DIR = '/dev/shm';
/** How often a port in UDP mode looks at its view again. */
export const VIEW_RECHECK_MS = 1000;

/** What the addon's LocalView reader says of its file. */
export type ViewState = LocalViewState;

/** The addon's LocalView (src/native/types.ts); tests give a fake. */
export type LocalViewReader = NativeLocalView;

export type OpenView = (path: string) => LocalViewReader;

/** Why a pick went to UDP. */
export type FallbackCause = keyof LocalFallbacks;

/** The addon's LocalView as an OpenView, or why local mode is impossible in this process (no addon built). */
export function addonViewOpener(): OpenView | string {
  let addon: NativeAddon;
  try {
    addon = loadNative();
  } catch (err) {
    return (err as Error).message;
  }
  return (path) => new addon.LocalView(path);
}

const PICK_NOT_IN_VIEW = -1;
const PICK_STALE = -2;

/** The view file of one agent port. */
export function viewPath(viewDir: string, port: number): string {
  return join(viewDir, `lars-agent-${port}.view`);
}

const OVERLOAD: GetHostResult = Object.freeze({ retcode: RetCode.Overload });
const NO_EXIST: GetHostResult = Object.freeze({ retcode: RetCode.NoExist });
const EMPTY_ROUTE: GetRouteResult = Object.freeze({ retcode: RetCode.NoExist, hosts: Object.freeze([]) });

const CAUSE_OF_STATE: Record<Exclude<ViewState, 'ok'>, FallbackCause> = {
  missing: 'missingFile',
  closed: 'missingFile',
  stale: 'stale',
  layout: 'layout',
  corrupt: 'corrupt',
};

const WHY: Record<FallbackCause, string> = {
  missingModule: 'a module is not in the view yet (asked over UDP, which makes the agent pull it)',
  stale: "the view's heartbeat is older than 1 s (is the agent running?)",
  missingFile: 'there is no view file (is the agent on this host running with [agent] view_dir, and is the directory shared with this process?)',
  layout: 'the view file has another layout version (agent and SDK of different releases)',
  corrupt: 'the view file is corrupt or truncated',
};

interface PortView {
  readonly path: string;
  reader: LocalViewReader | undefined;
  /** Answering from the view; else in UDP mode until nextCheckMs. */
  usable: boolean;
  cause: FallbackCause;
  nextCheckMs: number;
}

export interface LocalPickerOptions {
  readonly viewDir: string;
  /** The agent's first UDP port. */
  readonly basePort: number;
  readonly open: OpenView;
  readonly ips: IpStrings;
  readonly log: Logger;
  /** 'warn' when local mode was asked for, 'info' when it is only preferred (auto). */
  readonly fallbackLogLevel: 'info' | 'warn';
  /** Monotonic milliseconds; a parameter for tests. */
  readonly now: () => number;
}

export class LocalPicker {
  readonly #opts: LocalPickerOptions;
  readonly #ports: PortView[];
  /** pick()'s out parameter, one for every pick. */
  readonly #out = new Int32Array(2);
  readonly #fallbacks: { -readonly [K in FallbackCause]: number } = { missingModule: 0, stale: 0, missingFile: 0, layout: 0, corrupt: 0 };
  readonly #logged = new Set<FallbackCause>();

  constructor(opts: LocalPickerOptions) {
    this.#opts = opts;
    this.#ports = Array.from({ length: AGENT_PORT_COUNT }, (_, i) => ({
      path: viewPath(opts.viewDir, opts.basePort + i),
      reader: undefined,
      usable: false,
      cause: 'missingFile' as FallbackCause,
      nextCheckMs: -Infinity,
    }));
  }

  get fallbacks(): LocalFallbacks {
    return { ...this.#fallbacks };
  }

  /** Whether the port of (modid, cmdid) answers from its view now (checking it when due). */
  isLocal(portIndex: number): boolean {
    const v = this.#ports[portIndex]!;
    return v.usable || this.#check(v);
  }

  /** A node from the view, or why the view cannot answer (the caller asks over UDP). */
  pick(modid: number, cmdid: number, key: Uint8Array | undefined): GetHostResult | FallbackCause {
    const v = this.#ports[agentPortIndex(modid, cmdid)]!;
    if (!v.usable && !this.#check(v)) return this.#fallBack(v.cause);
    const out = this.#out;
    const rc = key === undefined ? v.reader!.pick(modid, cmdid, out) : v.reader!.pick(modid, cmdid, out, key);
    if (rc === RetCode.Succ) return { retcode: RetCode.Succ, ip: this.#opts.ips.toIp(out[0]!), port: out[1]! };
    if (rc === RetCode.Overload) return OVERLOAD;
    if (rc === RetCode.NoExist) return NO_EXIST;
    return this.#failed(v, rc);
  }

  /** The module's nodes from the view, or why the view cannot answer. */
  route(modid: number, cmdid: number): GetRouteResult | FallbackCause {
    const v = this.#ports[agentPortIndex(modid, cmdid)]!;
    if (!v.usable && !this.#check(v)) return this.#fallBack(v.cause);
    const flat = v.reader!.route(modid, cmdid);
    if (flat === null) {
      // Not in the view, or the view went bad: the reader's state tells which.
      const state = v.reader!.state();
      return state === 'ok' ? this.#fallBack('missingModule') : this.#disable(v, CAUSE_OF_STATE[state]);
    }
    if (flat.length === 0) return EMPTY_ROUTE;
    const hosts: HostAddress[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) hosts.push({ ip: this.#opts.ips.toIp(flat[i]!), port: flat[i + 1]! });
    return { retcode: RetCode.Succ, hosts };
  }

  close(): void {
    for (const v of this.#ports) {
      v.reader?.close();
      v.reader = undefined;
      v.usable = false;
    }
  }

  /** A negative pick: the module is missing (the port stays local), or the view went bad. */
  #failed(v: PortView, rc: number): FallbackCause {
    if (rc === PICK_NOT_IN_VIEW) return this.#fallBack('missingModule');
    if (rc === PICK_STALE) return this.#disable(v, 'stale');
    const state = v.reader!.state();
    return this.#disable(v, state === 'ok' ? 'corrupt' : CAUSE_OF_STATE[state]);
  }

  #disable(v: PortView, cause: FallbackCause): FallbackCause {
    v.usable = false;
    v.cause = cause;
    v.nextCheckMs = this.#opts.now() + VIEW_RECHECK_MS;
    return this.#fallBack(cause);
  }

  /** When due, opens the port's view anew (a restarted agent writes a new file); true if it answers. */
  #check(v: PortView): boolean {
    const now = this.#opts.now();
    if (now < v.nextCheckMs) return false;
    v.reader?.close();
    v.reader = this.#opts.open(v.path);
    const state = v.reader.state();
    if (state === 'ok') {
      v.usable = true;
      return true;
    }
    v.cause = CAUSE_OF_STATE[state];
    v.nextCheckMs = now + VIEW_RECHECK_MS;
    return false;
  }

  #fallBack(cause: FallbackCause): FallbackCause {
    this.#fallbacks[cause]++;
    if (!this.#logged.has(cause)) {
      this.#logged.add(cause);
      this.#opts.log[this.#opts.fallbackLogLevel](`lars sdk: UDP mode where ${WHY[cause]}; counted in stats.fallbacks.${cause}`);
    }
    return cause;
  }
}
