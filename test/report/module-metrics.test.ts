// The Report service's per-module aggregates: the pure logic on a fake clock, then the series a
// live daemon serves on /metrics, for both frontends.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ModuleStats } from '../../src/report/module-stats.js';
import { startReporter, type RunningReporter } from '../../src/report/start-reporter.js';
import type { CallStatus } from '../../src/store/store.js';
import { MsgId, ipToInt32 } from '../../src/wire/messages.js';
import { FrameClient, eventually } from '../helpers/frame-client.js';
import { freePort } from '../helpers/free-port.js';
import { tempSqlite, testConfig } from '../helpers/roles.js';
import { openStore } from '../../src/store/index.js';

function row(modid: number, ip: string, succCnt: number, errCnt: number, overload = false, caller = '10.0.0.1'): CallStatus {
  return { modid, cmdid: 1, ip, port: 80, caller, succCnt, errCnt, overload, ts: 0 };
}

describe('ModuleStats', () => {
  it('counts calls from window counts, starting again when a window rolls', () => {
    const s = new ModuleStats(100, () => 0);
    s.observe([row(1, '10.1.0.1', 5, 1)]);
    s.observe([row(1, '10.1.0.1', 8, 1)]); // same window: 3 more successes
    s.observe([row(1, '10.1.0.1', 2, 0)]); // the window rolled: 2 more
    s.observe([row(1, '10.1.0.1', 2, 0)]); // a repeat (a batch restored after a failed write) adds nothing
    expect(s.snapshot()).toEqual([{ modid: 1, cmdid: 1, succTotal: 10, errTotal: 1, errorRatio: 0, nodes: 1, overloadedNodes: 0 }]);
  });

  it("gives the error ratio of the current windows and counts a node overloaded by any agent once", () => {
    const s = new ModuleStats(100, () => 0);
    s.observe([row(1, '10.1.0.1', 6, 2, true, '10.0.0.1'), row(1, '10.1.0.1', 0, 0, true, '10.0.0.2'), row(1, '10.1.0.2', 2, 0)]);
    expect(s.snapshot()[0]).toMatchObject({ errorRatio: 0.2, nodes: 2, overloadedNodes: 1 });
  });

  it('forgets modules not reported within the TTL and caps modules and nodes, counting what it leaves out', () => {
    let now = 0;
    const s = new ModuleStats(3, () => now, 2, 1000);
    s.observe([row(1, '10.1.0.1', 1, 0), row(2, '10.1.0.1', 1, 0), row(3, '10.1.0.1', 1, 0)]);
    expect(s.snapshot().map((m) => m.modid)).toEqual([1, 2]);
    expect(s.droppedRows).toBe(1);
    s.observe([row(2, '10.1.0.2', 1, 0), row(2, '10.1.0.3', 1, 0)]); // the third node entry fits, the fourth does not
    expect(s.droppedRows).toBe(2);
    now = 999;
    s.observe([row(2, '10.1.0.1', 2, 0)]);
    now = 1500;
    s.observe([row(3, '10.1.0.1', 1, 0)]); // module 1 expired: room again
    expect(s.snapshot().map((m) => m.modid)).toEqual([2, 3]);
  });

  it('while full, looks for expired entries at most once a second, not once per row it leaves out', () => {
    let now = 0;
    const s = new ModuleStats(100, () => now, 1000, 60_000);
    const looks = vi.spyOn(s as unknown as { expire(t: number): void }, 'expire');
    s.observe(Array.from({ length: 100 }, (_, i) => row(1, `10.1.${i >> 8}.${i & 255}`, 1, 0)));
    // A stream of new keys, as many agents reporting new nodes: every row is left out and counted.
    for (let batch = 0; batch < 50; batch++) {
      now += 100;
      s.observe(Array.from({ length: 200 }, (_, i) => row(2, `10.2.${batch}.${i}`, 1, 0)));
    }
    expect(s.droppedRows).toBe(50 * 200);
    expect(looks.mock.calls.length).toBeLessThanOrEqual(6);
    // Once entries do expire, the next look (within a second) makes room again.
    now += 60_000;
    s.observe([row(3, '10.3.0.1', 1, 0)]);
    expect(s.snapshot().map((m) => m.modid)).toEqual([3]);
  });
});

describe.each(['native', 'ts'] as const)('Report service per-module metrics (%s)', (impl) => {
  let reporter: RunningReporter;
  let client: FrameClient;

  beforeAll(async () => {
    const kind = tempSqlite();
    const store = await openStore(testConfig('reporter', impl, kind).store);
    await store.init();
    await store.close();
    const adminPort = await freePort();
    reporter = await startReporter(testConfig('reporter', impl, kind, { 'reporter.flush_interval_ms': '20', 'admin.port': String(adminPort) }));
    client = await FrameClient.open(reporter.port);
  });

  afterAll(async () => {
    client?.close();
    await reporter?.stop();
  });

  const scrape = async (): Promise<string> => (await fetch(`http://127.0.0.1:${reporter.adminPort}/metrics`)).text();

  it('serves calls by result, the error ratio and the overloaded nodes of each module reported', async () => {
    const send = (succ: number, err: number): void =>
      client.send(MsgId.ReportStatusRequest, {
        modid: 4242,
        cmdid: 7,
        caller: ipToInt32('10.0.0.9'),
        ts: 1_700_000_000,
        results: [
          { ip: ipToInt32('10.3.0.1'), port: 80, succ, err, overload: false },
          { ip: ipToInt32('10.3.0.2'), port: 80, succ: 0, err: 4, overload: true },
        ],
      });
    send(10, 0);
    await eventually(scrape, (t) => t.includes('lars_reporter_module_calls_total{modid="4242",cmdid="7",result="succ"} 10'), 'the first report in /metrics');
    send(16, 4); // the same window: 6 more successes, 4 more failures
    const text = await eventually(scrape, (t) => t.includes('lars_reporter_module_calls_total{modid="4242",cmdid="7",result="succ"} 16'), 'the second report');
    expect(text).toContain('lars_reporter_module_calls_total{modid="4242",cmdid="7",result="err"} 8');
    expect(text).toContain('lars_reporter_module_error_ratio{modid="4242",cmdid="7"} 0.3333333333333333');
    expect(text).toContain('lars_reporter_module_nodes{modid="4242",cmdid="7"} 2');
    expect(text).toContain('lars_reporter_module_overloaded_nodes{modid="4242",cmdid="7"} 1');
    expect(text).toContain('lars_reporter_module_rows_dropped_total 0');
  });
});
