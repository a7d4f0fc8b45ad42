// The DNS service's in-memory routes: one pre-encoded GetRouteResponse frame per module (nodes
// with their weights and zones, and the module's policy), built once per reload and reused for
// every reply and push, so serving a request is a map lookup and a write. A module without
// attributes or policy is the same frame as in the reference. Both frontends serve from it: the TS one directly, the native one from the
// serialised copy `toNativeTable()` hands to C++ in one call.
import type { ModuleKey, ModuleRoute, RouteDelta, RouteTable } from '../store/store.js';
import { encodeFrame } from '../wire/frame.js';
import { MsgId, encodeBody, ipToInt32 } from '../wire/messages.js';
import { moduleKey } from '../wire/module-key.js';

interface IndexedModule {
  readonly modid: number;
  readonly cmdid: number;
  /** The whole frame (header + body) of this module's GetRouteResponse; equal bytes = an unchanged route. */
  readonly frame: Buffer;
  /** What the frame encodes (nodes, weights, zones, policy) as text: an equal one reuses the frame. */
  readonly signature: string;
}

export function encodeRouteFrame(modid: number, cmdid: number, hosts: ModuleRoute['hosts'], policy?: ModuleRoute['policy']): Buffer {
  return encodeFrame(
    MsgId.GetRouteResponse,
    encodeBody(MsgId.GetRouteResponse, {
      modid: modid | 0,
      cmdid: cmdid | 0,
      host: hosts.map((h) => ({ ip: ipToInt32(h.ip), port: h.port, weight: h.weight, zone: h.zone })),
      policy,
    }),
  );
}

export class RouteIndex {
  private constructor(
    readonly version: number,
    readonly lastChangeId: number,
    private readonly modules: Map<string, IndexedModule>,
  ) {}

  /**
   * `previous`: the index this one replaces; a module whose node set is unchanged keeps its frame
   * from there, so a reload encodes only what changed (every instance reloads on every edit and
   * on every full reload: encoding the whole table each time was most of a reload's CPU).
   */
  static fromTable(table: RouteTable, previous?: RouteIndex): RouteIndex {
    const modules = new Map<string, IndexedModule>();
    for (const m of table.modules) modules.set(moduleKey(m.modid, m.cmdid), RouteIndex.indexModule(m, previous));
    return new RouteIndex(table.version, table.lastChangeId, modules);
  }

  /** This index with the modules the delta names replaced by their loaded routes (or removed: none left). */
  patched(delta: RouteDelta): RouteIndex {
    const modules = new Map(this.modules);
    for (const m of delta.named) modules.delete(moduleKey(m.modid, m.cmdid));
    for (const m of delta.modules) modules.set(moduleKey(m.modid, m.cmdid), RouteIndex.indexModule(m, this));
    return new RouteIndex(delta.version, delta.lastChangeId, modules);
  }

  private static indexModule(m: ModuleRoute, previous: RouteIndex | undefined): IndexedModule {
    // Everything the frame carries: an edit of any of it must re-encode (and so be pushed).
    const signature = `${m.hosts.map((h) => `${h.ip}:${h.port}:${h.weight ?? ''}:${h.zone ?? ''}`).join(',')}|${JSON.stringify(m.policy ?? null)}`;
    const kept = previous?.modules.get(moduleKey(m.modid, m.cmdid));
    return {
      modid: m.modid,
      cmdid: m.cmdid,
      frame: kept?.signature === signature ? kept.frame : encodeRouteFrame(m.modid, m.cmdid, m.hosts, m.policy),
      signature,
    };
  }

  /** What a frontend serves before the first load: every module unknown. */
  static readonly EMPTY = RouteIndex.fromTable({ version: 0, lastChangeId: 0, modules: [] });

  get size(): number {
    return this.modules.size;
  }

  /** The reply for a module; an unknown module gets an empty host list, as in the reference. */
  frameFor(modid: number, cmdid: number): Buffer {
    return this.modules.get(moduleKey(modid, cmdid))?.frame ?? encodeRouteFrame(modid, cmdid, []);
  }

  /** Modules whose route differs between `before` and this index (added, removed, or nodes, weights, zones or policy edited). */
  changedSince(before: RouteIndex): ModuleKey[] {
    const changed: ModuleKey[] = [];
    for (const [key, m] of this.modules) {
      const old = before.modules.get(key);
      if (old === undefined || !old.frame.equals(m.frame)) changed.push({ modid: m.modid, cmdid: m.cmdid });
    }
    for (const [key, m] of before.modules) {
      if (!this.modules.has(key)) changed.push({ modid: m.modid, cmdid: m.cmdid });
    }
    return changed;
  }

  /**
   * The whole index in one buffer for the native frontend: per module
   * u32 modid, u32 cmdid, u32 frame length, frame bytes (little-endian).
   */
  toNativeTable(): Buffer {
    let size = 0;
    for (const m of this.modules.values()) size += 12 + m.frame.length;
    const out = Buffer.allocUnsafe(size);
    let at = 0;
    for (const m of this.modules.values()) {
      out.writeUInt32LE(m.modid >>> 0, at);
      out.writeUInt32LE(m.cmdid >>> 0, at + 4);
      out.writeUInt32LE(m.frame.length, at + 8);
      m.frame.copy(out, at + 12);
      at += 12 + m.frame.length;
    }
    return out;
  }
}
