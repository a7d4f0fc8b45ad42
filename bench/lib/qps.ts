// `lars test qps` as a benchmark runs it: the Node SDK's own load loop against an agent, one JSON
// line of results.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cliPath, type Impl } from './process.js';

const run = promisify(execFile);

export interface QpsResult {
  /** Median calls/s over the run's seconds. */
  readonly median: number;
  readonly noAnswer: number;
  /** The SDK mode that ran: local, udp or mixed. */
  readonly ran: string;
  readonly fallbacks: Record<string, number>;
}

/**
 * `lars test qps WORKERS SECONDS` against the agent on base, module 1/1, with the SDK of impl;
 * `extra`: more options (--mode, --view-dir).
 */
export async function larsTestQps(base: number, workers: number, seconds: number, impl: Impl, extra: readonly string[] = []): Promise<QpsResult> {
  const { stdout } = await run(
    process.execPath,
    [cliPath, 'test', 'qps', String(workers), String(seconds), '--json', '--agent-port', String(base), '--modid', '1', '--cmdid', '1', ...extra],
    { env: { ...process.env, LARS_IMPL: impl }, timeout: (seconds + 30) * 1000 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as QpsResult;
}
