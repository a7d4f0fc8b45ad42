// The result of one benchmark program, as written to bench/results/<name>.json, and the main()
// every benchmark program shares: parse --quick / --runs / --impl, measure, record the machine
// and commit beside the figures, write the file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/native/addon.js';
import { machineInfo, type MachineInfo } from './machine.js';
import { median } from './stats.js';

export type Impl = 'native' | 'ts';
export const IMPLS: readonly Impl[] = ['native', 'ts'];
export const resultsDir = join(packageRoot, 'bench', 'results');

/**
 * One row of the table. Per-implementation figures go in `native` / `ts`, figures that belong to
 * neither (the echo ceiling, a ratio) in `value`. Each is the median of `samples` (one per run).
 * null: not measured (see `note`).
 */
export interface Figure {
  /** Stable key for scripts, e.g. "one_route_ops_per_s". */
  readonly id: string;
  readonly label: string;
  readonly unit: string;
  readonly native?: number | null;
  readonly ts?: number | null;
  readonly value?: number | null;
  readonly samples?: { readonly native?: readonly number[]; readonly ts?: readonly number[]; readonly value?: readonly number[] };
  /** The target as text, e.g. ">= 0.8x echo". */
  readonly target?: string;
  /** Whether the target was met; null when it could not be judged. */
  readonly met?: boolean | null;
  readonly note?: string;
}

export type Status = 'ok' | 'partial' | 'skipped' | 'failed';

export interface BenchResult {
  readonly name: string;
  readonly title: string;
  readonly kind: 'micro' | 'macro';
  readonly status: Status;
  readonly quick: boolean;
  /** Repetitions behind each median. */
  readonly runs: number;
  readonly machine: MachineInfo;
  readonly durationMs: number;
  readonly figures: readonly Figure[];
  readonly notes: readonly string[];
  /** Everything else worth keeping: per-run raw numbers, CPU% of each process, settings. */
  readonly details: Record<string, unknown>;
}

export interface BenchContext {
  readonly quick: boolean;
  readonly runs: number;
  readonly impls: readonly Impl[];
  /** Progress on stderr (the table goes to stdout). */
  log(message: string): void;
}

export interface BenchOutcome {
  readonly figures: Figure[];
  readonly notes?: string[];
  readonly details?: Record<string, unknown>;
  /** Defaults to ok, or partial when a figure is null. */
  readonly status?: Status;
}

export interface BenchDefinition {
  readonly name: string;
  readonly title: string;
  readonly kind: 'micro' | 'macro';
  run(ctx: BenchContext): Promise<BenchOutcome>;
}

/** Median of samples, or null when there are none. */
export function med(samples: readonly number[] | undefined): number | null {
  if (samples === undefined || samples.length === 0) return null;
  const m = median(samples);
  return Number.isFinite(m) ? m : null;
}

/** A figure with per-implementation samples; medians filled in. */
export function implFigure(
  base: Omit<Figure, 'native' | 'ts' | 'samples'>,
  samples: Partial<Record<Impl, readonly number[]>>,
): Figure {
  return { ...base, native: med(samples.native), ts: med(samples.ts), samples };
}

export function valueFigure(base: Omit<Figure, 'value' | 'samples'>, samples: readonly number[]): Figure {
  return { ...base, value: med(samples), samples: { value: samples } };
}

/** true / false when both numbers exist, else null. */
export function judge(value: number | null | undefined, ok: (v: number) => boolean): boolean | null {
  return value === null || value === undefined || !Number.isFinite(value) ? null : ok(value);
}

function parseArgs(argv: readonly string[]): { quick: boolean; runs: number | undefined; impls: Impl[] } {
  let quick = false;
  let runs: number | undefined;
  let impls: Impl[] = [...IMPLS];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') quick = true;
    else if (a === '--runs') runs = Math.max(1, Number(argv[++i]));
    else if (a === '--impl') impls = (argv[++i] ?? '').split(',').filter((x): x is Impl => x === 'native' || x === 'ts');
    else throw new Error(`unknown argument ${a}; expected --quick, --runs N, --impl native,ts`);
  }
  const env = process.env.LARS_IMPL;
  if (env === 'native' || env === 'ts') impls = [env];
  return { quick, runs, impls };
}

export function writeResult(result: BenchResult): string {
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${result.name}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  return file;
}

/** Runs a benchmark program: `node dist/bench/<kind>/<file>.js [--quick] [--runs N] [--impl native,ts]`. */
export async function benchMain(def: BenchDefinition): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const machine = machineInfo();
  const ctx: BenchContext = {
    quick: args.quick,
    runs: args.runs ?? (args.quick ? 1 : 3),
    impls: args.impls,
    log: (m) => process.stderr.write(`[${def.name}] ${m}\n`),
  };
  const t0 = performance.now();
  let outcome: BenchOutcome;
  try {
    outcome = await def.run(ctx);
  } catch (err) {
    ctx.log(`failed: ${(err as Error).stack ?? String(err)}`);
    outcome = { figures: [], notes: [`failed: ${(err as Error).message.split('\n')[0]}`], status: 'failed' };
  }
  const incomplete = outcome.figures.some((f) => f.native === null || f.ts === null || f.value === null);
  const result: BenchResult = {
    name: def.name,
    title: def.title,
    kind: def.kind,
    status: outcome.status ?? (incomplete ? 'partial' : 'ok'),
    quick: ctx.quick,
    runs: ctx.runs,
    machine,
    durationMs: Math.round(performance.now() - t0),
    figures: outcome.figures,
    notes: outcome.notes ?? [],
    details: { impls: ctx.impls, ...outcome.details },
  };
  const file = writeResult(result);
  ctx.log(`${result.status} in ${(result.durationMs / 1000).toFixed(1)} s -> ${file}`);
  process.exitCode = result.status === 'failed' ? 1 : 0;
}
