// The balancer micro benchmark's operation batches, and their TypeScript runner. The native runner
// is bench/native/balancer_ops.cc (a process of its own, so no N-API crossing is measured); both
// follow the same encoding, one Int32Array:
//   [CLOCK, dt]                                          the batch clock advances by dt ms (dt >= 0)
//   [PICK, modid, cmdid, key]                            pick at the batch clock; key >= 0: its 4
//                                                        little-endian bytes are the hash key, -1: none
//   [REPORT, modid, cmdid, ip, port, retcode, usetime]   report at the batch clock (usetime in µs)
//   [APPLY, modid, cmdid, n, ip, port, weight, ...]      applyRoute of n hosts at the batch clock, with `policy`
// A policy with zoneOverprovision > 0 puts an APPLY's first half of hosts (2k < n) in az1 and the rest
// in az2; the balancer then runs with the agent in az1 (zone-aware routing).
import { DEFAULT_ROUTE_POLICY, type Balancer, type RouteHost, type RoutePolicy } from '../../src/balancer/index.js';

export const BalancerOp = { CLOCK: 0, PICK: 1, REPORT: 2, APPLY: 3 } as const;

function mix(h: number, v: number): number {
  return Math.imul(h ^ v, 16777619) >>> 0;
}

/** Runs a batch the bench built; returns the FNV-1a (32-bit) hash over retcode, ip, port of every pick. */
export function runOps(b: Balancer, ops: Int32Array, now: number, policy: RoutePolicy = DEFAULT_ROUTE_POLICY): number {
  let hash = 2166136261;
  const n = ops.length;
  const keyWord = new Int32Array(1);
  const key = new Uint8Array(keyWord.buffer);
  for (let i = 0; i < n; ) {
    const op = ops[i];
    if (op === BalancerOp.PICK) {
      keyWord[0] = ops[i + 3]!;
      const r = b.pick(ops[i + 1]!, ops[i + 2]!, now, keyWord[0] >= 0 ? key : undefined);
      hash = mix(mix(mix(hash, r.retcode), r.ip), r.port);
      i += 4;
    } else if (op === BalancerOp.REPORT) {
      b.report(ops[i + 1]!, ops[i + 2]!, ops[i + 3]!, ops[i + 4]!, ops[i + 5]!, now, ops[i + 6]!);
      i += 7;
    } else if (op === BalancerOp.CLOCK) {
      now += ops[i + 1]!;
      i += 2;
    } else {
      const count = ops[i + 3]!;
      const hosts: RouteHost[] = [];
      for (let k = 0; k < count; k++) {
        const zone = policy.zoneOverprovision === 0 ? undefined : 2 * k < count ? 'az1' : 'az2';
        hosts.push({ ip: ops[i + 4 + 3 * k]!, port: ops[i + 5 + 3 * k]!, weight: ops[i + 6 + 3 * k]!, zone });
      }
      b.applyRoute(ops[i + 1]!, ops[i + 2]!, hosts, now, policy);
      i += 4 + 3 * count;
    }
  }
  return hash;
}

/** The native runner's stdin: each batch as its int32 length, then its values (little-endian). */
export function runnerInput(setup: Int32Array, batch: Int32Array): Buffer {
  const all = new Int32Array(2 + setup.length + batch.length);
  all[0] = setup.length;
  all.set(setup, 1);
  all[1 + setup.length] = batch.length;
  all.set(batch, 2 + setup.length);
  return Buffer.from(all.buffer);
}
