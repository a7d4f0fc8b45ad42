// The balancer micro benchmark's operation batches, and their TypeScript runner. The native runner
// is bench/native/balancer_ops.cc (a process of its own, so no N-API crossing is measured); both
// follow the same encoding, one Int32Array:
//   [CLOCK, dt]                                  the batch clock advances by dt ms (dt >= 0)
//   [PICK, modid, cmdid]                         pick at the batch clock
//   [REPORT, modid, cmdid, ip, port, retcode]    report at the batch clock
//   [APPLY, modid, cmdid, n, ip, port, ...]      applyRoute of n hosts at the batch clock
import type { Balancer, HostAddr } from '../../src/balancer/index.js';

export const BalancerOp = { CLOCK: 0, PICK: 1, REPORT: 2, APPLY: 3 } as const;

function mix(h: number, v: number): number {
  return Math.imul(h ^ v, 16777619) >>> 0;
}

/** Runs a batch the bench built; returns the FNV-1a (32-bit) hash over retcode, ip, port of every pick. */
export function runOps(b: Balancer, ops: Int32Array, now: number): number {
  let hash = 2166136261;
  const n = ops.length;
  for (let i = 0; i < n; ) {
    const op = ops[i];
    if (op === BalancerOp.PICK) {
      const r = b.pick(ops[i + 1]!, ops[i + 2]!, now);
      hash = mix(mix(mix(hash, r.retcode), r.ip), r.port);
      i += 3;
    } else if (op === BalancerOp.REPORT) {
      b.report(ops[i + 1]!, ops[i + 2]!, ops[i + 3]!, ops[i + 4]!, ops[i + 5]!, now);
      i += 6;
    } else if (op === BalancerOp.CLOCK) {
      now += ops[i + 1]!;
      i += 2;
    } else {
      const count = ops[i + 3]!;
      const hosts: HostAddr[] = [];
      for (let k = 0; k < count; k++) hosts.push({ ip: ops[i + 4 + 2 * k]!, port: ops[i + 5 + 2 * k]! });
      b.applyRoute(ops[i + 1]!, ops[i + 2]!, hosts, now);
      i += 4 + 2 * count;
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
