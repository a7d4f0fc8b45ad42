// Talking to `dns-client hold` tools (bench/native): each holds subscribed connections and
// records, per push round, when each of its connections received the push.
import type { Tool } from './process.js';
import { sleep } from './process.js';

/**
 * Waits until every connection still open in `clients` has push `round` (1-based), or the
 * deadline passes; resolves to the connections open at the last look.
 */
export async function waitForPushRound(clients: readonly Tool[], round: number, timeoutMs: number, pollMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let open = 0;
    let have = 0;
    for (const c of clients) {
      const e = await c.ask('count', 'count');
      open += Number(e.open);
      have += Number((e.rounds as number[])[round - 1] ?? 0);
    }
    if (have >= open || Date.now() > deadline) return open;
    await sleep(pollMs);
  }
}

/** Per client, the arrival times (unix µs) of push `round` on its connections. */
export async function pushArrivals(clients: readonly Tool[], round: number, timeoutMs: number): Promise<number[][]> {
  const out: number[][] = [];
  for (const c of clients) {
    const e = await c.ask('dump', 'dump', timeoutMs);
    out.push((e.arrivals as number[][])[round - 1] ?? []);
  }
  return out;
}
