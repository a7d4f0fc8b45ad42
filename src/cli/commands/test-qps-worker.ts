// One load thread of `lars test qps`: a LarsClient of its own looping getHost + report against
// the agent until the main thread raises the stop flag. Progress goes through shared counters,
// not messages, so the main thread reads every thread's totals once a second at no cost here.
// In local mode picks are getHostSync (no await), with a turn of the event loop every
// YIELD_EVERY calls so the batched reports go out; a pick the view cannot answer goes over UDP.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { LarsClient } from '../../sdk/lars-client.js';
import { RetCode, type GetHostResult, type LarsClientStats, type SdkMode } from '../../sdk/types.js';
import type { Implementation } from '../../native/addon.js';

export interface QpsWorkerData {
  readonly host: string;
  readonly port: number;
  readonly timeoutMs: number;
  readonly impl: Implementation;
  readonly modid: number;
  readonly cmdid: number;
  readonly mode: SdkMode;
  readonly viewDir: string;
  /** Int32 slots: [0] the stop flag; then per thread COUNTERS_PER_THREAD slots from 1 + index * COUNTERS_PER_THREAD. */
  readonly counters: SharedArrayBuffer;
  readonly index: number;
}

/** calls (answered get_host), picks that found no node, get_host without an answer. */
export const COUNTERS_PER_THREAD = 3;
export const Slot = { Calls: 0, NoNode: 1, NoAnswer: 2 } as const;
/** Sync picks between two turns of the event loop. */
const YIELD_EVERY = 1000;

/** What a worker posts when it is done: its client's counters. */
export interface QpsWorkerDone {
  readonly stats: LarsClientStats;
}

async function run(data: QpsWorkerData): Promise<void> {
  const shared = new Int32Array(data.counters);
  const at = 1 + data.index * COUNTERS_PER_THREAD;
  // cacheDir '': qps measures the agent, never its route cache on disk.
  const client = new LarsClient({
    host: data.host,
    port: data.port,
    timeoutMs: data.timeoutMs,
    impl: data.impl,
    cacheDir: '',
    mode: data.mode,
    viewDir: data.viewDir,
  });
  let calls = 0;
  let noNode = 0;
  let noAnswer = 0;
  let sinceYield = 0;
  parentPort?.postMessage('ready');
  while (Atomics.load(shared, 0) === 0) {
    let r: GetHostResult | undefined = client.getHostSync(data.modid, data.cmdid);
    if (r === undefined) {
      r = await client.getHost(data.modid, data.cmdid);
      sinceYield = 0;
    } else if (++sinceYield >= YIELD_EVERY) {
      await nextTurn();
      sinceYield = 0;
    }
    if (r.retcode === RetCode.Succ) {
      client.report(data.modid, data.cmdid, r.ip, r.port, RetCode.Succ);
      Atomics.store(shared, at + Slot.Calls, ++calls);
    } else if (r.retcode === RetCode.SystemError) {
      Atomics.store(shared, at + Slot.NoAnswer, ++noAnswer);
    } else {
      Atomics.store(shared, at + Slot.Calls, ++calls);
      Atomics.store(shared, at + Slot.NoNode, ++noNode);
    }
  }
  await client.close();
  const done: QpsWorkerDone = { stats: client.stats };
  parentPort?.postMessage(done);
}

// Also imported by the main thread for Slot; only a worker runs. A failure reaches the main
// thread as the worker's 'error' event.
if (parentPort !== null) void run(workerData as QpsWorkerData);
