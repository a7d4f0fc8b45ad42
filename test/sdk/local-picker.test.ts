// LocalPicker over a fake LocalView reader (the real one is the addon's, tested on its own and
// end to end in sdk-modes.test.ts): answers from the view, each fallback cause counted and logged
// once, the periodic re-check that brings a port back to local mode. The clock is a parameter.
import { describe, expect, it } from 'vitest';
import type { Logger } from '../../src/log.js';
import { IpStrings } from '../../src/sdk/ip-strings.js';
import { LocalPicker, VIEW_RECHECK_MS, viewPath, type LocalViewReader, type ViewState } from '../../src/sdk/local-picker.js';
import { RetCode, ipToInt32 } from '../../src/wire/messages.js';

const BASE = 7000;

/** One agent port's view: a route table and a state a test changes. */
class FakeView implements LocalViewReader {
  state_: ViewState = 'ok';
  readonly routes = new Map<string, [string, number][]>();
  cursor = 0;
  closed = false;
  keys: (Uint8Array | undefined)[] = [];
  state(): ViewState {
    return this.closed ? 'closed' : this.state_;
  }
  pick(modid: number, cmdid: number, out: Int32Array, key?: Uint8Array): number {
    this.keys.push(key);
    if (this.state_ === 'stale') return -2;
    if (this.state_ !== 'ok') return -3;
    const r = this.routes.get(`${modid}/${cmdid}`);
    if (r === undefined) return -1;
    if (r.length === 0) return RetCode.NoExist;
    const [ip, port] = r[this.cursor++ % r.length]!;
    out[0] = ipToInt32(ip);
    out[1] = port;
    return RetCode.Succ;
  }
  route(modid: number, cmdid: number): Int32Array | null {
    if (this.state_ !== 'ok') return null;
    const r = this.routes.get(`${modid}/${cmdid}`);
    return r === undefined ? null : Int32Array.from(r.flatMap(([ip, port]) => [ipToInt32(ip), port]));
  }
  close(): void {
    this.closed = true;
  }
}

function setup(initial: ViewState | 'absent' = 'ok') {
  let now = 0;
  const lines: string[] = [];
  const opened: string[] = [];
  /** The view the next open() returns, per path: what the agent has written there. */
  const files = new Map<string, FakeView>();
  const fileFor = (port: number): FakeView => {
    const path = viewPath('/views', port);
    let v = files.get(path);
    if (v === undefined) {
      v = new FakeView();
      if (initial !== 'absent') v.state_ = initial;
      else v.state_ = 'missing';
      files.set(path, v);
    }
    return v;
  };
  const record = (msg: string) => lines.push(msg);
  const log: Logger = { debug: record, info: record, warn: record, error: record, limited: () => {} };
  const picker = new LocalPicker({
    viewDir: '/views',
    basePort: BASE,
    open: (path) => {
      opened.push(path);
      const port = Number(/lars-agent-(\d+)\.view$/.exec(path)![1]);
      const v = fileFor(port);
      v.closed = false;
      return v;
    },
    ips: new IpStrings(),
    log,
    fallbackLogLevel: 'info',
    now: () => now,
  });
  return { picker, lines, opened, fileFor, advance: (ms: number) => (now += ms) };
}

describe('LocalPicker', () => {
  it('answers picks and routes from the port\'s view: modid+cmdid=3 reads port base+0', () => {
    const { picker, fileFor, opened } = setup();
    fileFor(BASE).routes.set('1/2', [['10.0.0.1', 1], ['192.168.1.177', 2]]);
    fileFor(BASE).routes.set('2/1', []);
    expect(picker.pick(1, 2, undefined)).toEqual({ retcode: RetCode.Succ, ip: '10.0.0.1', port: 1 });
    expect(picker.pick(1, 2, undefined)).toEqual({ retcode: RetCode.Succ, ip: '192.168.1.177', port: 2 });
    expect(picker.pick(2, 1, undefined)).toEqual({ retcode: RetCode.NoExist });
    expect(picker.route(1, 2)).toEqual({ retcode: RetCode.Succ, hosts: [{ ip: '10.0.0.1', port: 1 }, { ip: '192.168.1.177', port: 2 }] });
    expect(picker.route(2, 1)).toEqual({ retcode: RetCode.NoExist, hosts: [] });
    expect(opened).toEqual([`/views/lars-agent-${BASE}.view`]);
    expect(picker.fallbacks).toEqual({ missingModule: 0, stale: 0, missingFile: 0, layout: 0, corrupt: 0 });
  });

  it('passes the affinity key to the view', () => {
    const { picker, fileFor } = setup();
    fileFor(BASE + 1).routes.set('1/0', [['10.0.0.1', 1]]);
    const key = new Uint8Array([1, 2]);
    picker.pick(1, 0, key);
    picker.pick(1, 0, undefined);
    expect(fileFor(BASE + 1).keys).toEqual([key, undefined]);
  });

  it('sends a module missing from the view to UDP, counted and logged once, and stays local', () => {
    const { picker, lines, fileFor } = setup();
    fileFor(BASE).routes.set('1/2', [['10.0.0.1', 1]]);
    expect(picker.pick(5, 1, undefined)).toBe('missingModule');
    expect(picker.route(5, 1)).toBe('missingModule');
    expect(picker.pick(1, 2, undefined)).toMatchObject({ retcode: RetCode.Succ });
    expect(picker.isLocal(0)).toBe(true);
    expect(picker.fallbacks.missingModule).toBe(2);
    expect(lines.filter((l) => l.includes('fallbacks.missingModule'))).toHaveLength(1);
  });

  it.each([
    ['absent', 'missingFile'],
    ['stale', 'stale'],
    ['layout', 'layout'],
    ['corrupt', 'corrupt'],
  ] as const)('a view %s at the start means UDP mode (%s), counted per pick, logged once, checked again every second', (initial, cause) => {
    const { picker, lines, opened, fileFor, advance } = setup(initial);
    expect(picker.pick(3, 0, undefined)).toBe(cause);
    expect(picker.pick(3, 0, undefined)).toBe(cause);
    expect(picker.route(3, 0)).toBe(cause);
    expect(picker.isLocal(0)).toBe(false);
    expect(picker.fallbacks[cause]).toBe(3);
    expect(lines.filter((l) => l.includes(`fallbacks.${cause}`))).toHaveLength(1);
    expect(opened).toHaveLength(1);
    // The agent comes (back): the next check, a second later, opens the file again and goes local.
    fileFor(BASE).state_ = 'ok';
    fileFor(BASE).routes.set('3/0', [['10.0.0.3', 3]]);
    advance(VIEW_RECHECK_MS - 1);
    expect(picker.pick(3, 0, undefined)).toBe(cause);
    advance(1);
    expect(picker.pick(3, 0, undefined)).toEqual({ retcode: RetCode.Succ, ip: '10.0.0.3', port: 3 });
    expect(opened).toHaveLength(2);
  });

  it.each([
    ['stale', 'stale'],
    ['layout', 'layout'],
    ['corrupt', 'corrupt'],
    ['missing', 'missingFile'],
  ] as const)('a view that turns %s while in use sends the port to UDP (%s) until it is fresh again', (state, cause) => {
    const { picker, fileFor, advance, lines } = setup();
    fileFor(BASE).routes.set('3/0', [['10.0.0.3', 3]]);
    fileFor(BASE + 1).routes.set('4/0', [['10.0.0.4', 4]]);
    expect(picker.pick(3, 0, undefined)).toMatchObject({ retcode: RetCode.Succ });
    fileFor(BASE).state_ = state;
    expect(picker.pick(3, 0, undefined)).toBe(cause);
    expect(picker.isLocal(0)).toBe(false);
    // Another port's view is not touched.
    expect(picker.pick(4, 0, undefined)).toMatchObject({ retcode: RetCode.Succ });
    fileFor(BASE).state_ = 'ok';
    expect(picker.pick(3, 0, undefined)).toBe(cause);
    advance(VIEW_RECHECK_MS);
    expect(picker.isLocal(0)).toBe(true);
    expect(picker.pick(3, 0, undefined)).toMatchObject({ retcode: RetCode.Succ });
    expect(picker.fallbacks[cause]).toBe(2);
    expect(lines).toHaveLength(1);
  });

  it('close() closes every view it opened', () => {
    const { picker, fileFor } = setup();
    picker.pick(3, 0, undefined);
    picker.pick(4, 0, undefined);
    picker.close();
    expect([fileFor(BASE).closed, fileFor(BASE + 1).closed, fileFor(BASE + 2).closed]).toEqual([true, true, false]);
  });
});
