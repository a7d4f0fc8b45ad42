// The fault suite's scenarios (bench/faults/scenarios.ts) in their short form: a few seconds each,
// on both implementations, against real daemons and a fresh MariaDB database. `npm run faults`
// runs the same scenarios at full scale (docs/faults.md).
import { beforeAll, describe, expect, it } from 'vitest';
import { tool } from '../../bench/lib/native-tools.js';
import { SCENARIOS, SHORT } from '../../bench/faults/scenarios.js';

// The scenarios create their database through bench/lib/mysql.ts: point it where the tests point.
for (const k of ['HOST', 'PORT', 'USER', 'PASSWORD']) {
  const v = process.env[`LARS_TEST_MYSQL_${k}`];
  if (v !== undefined) process.env[`LARS_BENCH_MYSQL_${k}`] = v;
}

beforeAll(() => {
  // The C++ load generators (build/bench/): built once, later runs find them up to date.
  tool('udp-client');
}, 180_000);

describe.each(['native', 'ts'] as const)('fault scenarios, short form (%s)', (impl) => {
  for (const s of SCENARIOS) {
    it(`${s.id}: ${s.title}`, async () => {
      const r = await s.run(impl, SHORT);
      expect(r.problems).toEqual([]);
      expect(r.verdict).toBe('pass');
    }, 120_000);
  }
});
