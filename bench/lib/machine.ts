// What a result was measured on: the machine, the Node version and the commit, recorded beside
// every figure (STYLE.md habit 9).
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem, freemem, release, hostname } from 'node:os';
import { packageRoot } from '../../src/native/addon.js';

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryMiB: number;
  readonly freeMemoryMiB: number;
  /** 1, 5 and 15 minute load averages when the benchmark started: a busy machine shows here. */
  readonly loadavg: readonly number[];
  readonly os: string;
  readonly hostname: string;
  readonly node: string;
  readonly openFileLimit: number | null;
  readonly gitCommit: string | null;
  /** Uncommitted changes in the working tree when measured. */
  readonly gitDirty: boolean | null;
  readonly timestamp: string;
}

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: packageRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function openFileLimit(): number | null {
  try {
    const out = execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
    const n = Number(out);
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  const status = git(['status', '--porcelain', '--untracked-files=no']);
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryMiB: Math.round(totalmem() / 2 ** 20),
    freeMemoryMiB: Math.round(freemem() / 2 ** 20),
    loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
    os: `${process.platform} ${release()}`,
    hostname: hostname(),
    node: process.version,
    openFileLimit: openFileLimit(),
    gitCommit: git(['rev-parse', 'HEAD']),
    gitDirty: status === null ? null : status.length > 0,
    timestamp: new Date().toISOString(),
  };
}
