// A DNS instance's reload without a database or sockets: a table that did not change costs no
// encoding and no hand-over to the frontend (every instance reloads on every edit and every
// full_reload_ms, so at dozens of instances this is most of their idle CPU).
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DnsFrontend } from '../../src/dns/dns-frontend.js';
import { DnsService } from '../../src/dns/dns-service.js';
import { RouteIndex } from '../../src/dns/route-index.js';
import type { ModuleKey, ModuleRoute, RouteTable, Store } from '../../src/store/store.js';

function table(version: number, modules: ModuleRoute[]): RouteTable {
  return { version, lastChangeId: 0, modules };
}

const a = (port: number): ModuleRoute => ({ modid: 1, cmdid: 1, hosts: [{ ip: '10.0.0.1', port }] });
const b = (port: number): ModuleRoute => ({ modid: 1, cmdid: 2, hosts: [{ ip: '10.0.0.2', port }] });

describe('RouteIndex', () => {
  it('keeps the frame of every module whose node set is unchanged and encodes only the edited ones', () => {
    const first = new RouteIndex(table(1, [a(80), b(80)]));
    const next = new RouteIndex(table(2, [a(80), b(81)]), first);
    expect(next.frameFor(1, 1)).toBe(first.frameFor(1, 1));
    expect(next.frameFor(1, 2)).not.toBe(first.frameFor(1, 2));
    expect(next.frameFor(1, 2)).toEqual(new RouteIndex(table(2, [b(81)])).frameFor(1, 2));
    expect(next.changedSince(first)).toEqual([{ modid: 1, cmdid: 2 }]);
  });
});

describe('DnsService reload', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('hands the frontend a new index only when a module changed, and pushes only those', async () => {
    vi.useFakeTimers();
    let current = table(1, [a(80), b(80)]);
    const store = {
      description: 'fake',
      getVersion: async () => current.version,
      loadRouteTable: async () => current,
      changesSince: async () => [],
      pruneChanges: async () => 0,
    } as unknown as Store;
    const indexes: RouteIndex[] = [];
    const pushes: ModuleKey[][] = [];
    const frontend = {
      setIndex: (i: RouteIndex) => indexes.push(i),
      push: (m: readonly ModuleKey[]) => pushes.push([...m]),
    } as unknown as DnsFrontend;
    // fullReloadMs 0: every poll reloads the whole table, as full_reload_ms does periodically.
    const service = new DnsService({ store, frontend, pollIntervalMs: 1000, fullReloadMs: 0, changeRetentionSec: 3600 });
    await service.start();
    expect(indexes).toHaveLength(1);

    await vi.advanceTimersByTimeAsync(3000);
    expect(service.stats().reloads).toBeGreaterThanOrEqual(4);
    expect(indexes).toHaveLength(1);

    current = table(2, [a(80), b(81)]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(indexes).toHaveLength(2);
    expect(indexes[1]!.frameFor(1, 1)).toBe(indexes[0]!.frameFor(1, 1));
    expect(pushes.at(-1)).toEqual([{ modid: 1, cmdid: 2 }]);
    service.stop();
  });
});
