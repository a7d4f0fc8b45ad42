// The one results table: plain text for the terminal, Markdown for bench/results/latest.md.
import type { BenchResult, Figure } from './result.js';

/** 16.1 M, 52.3 k, 3.08, 920 — three significant figures, k/M above ten thousand. */
export function formatNumber(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const abs = Math.abs(v);
  const sig = (x: number): string => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2));
  if (abs >= 1e6) return `${sig(v / 1e6)} M`;
  if (abs >= 1e4) return `${sig(v / 1e3)} k`;
  return sig(v);
}

const HEAD = ['benchmark', 'figure', 'unit', 'native', 'ts', 'ref/value', 'target', 'met'] as const;

function metText(f: Figure): string {
  if (f.target === undefined) return '';
  return f.met === true ? 'met' : f.met === false ? 'MISSED' : '?';
}

function rows(results: readonly BenchResult[]): string[][] {
  const out: string[][] = [];
  for (const r of results) {
    const name = r.quick ? `${r.name} (quick)` : r.name;
    if (r.figures.length === 0) {
      out.push([name, `${r.status}: ${r.notes[0] ?? ''}`, '', '', '', '', '', '']);
      continue;
    }
    for (const f of r.figures) {
      out.push([name, f.label, f.unit, formatNumber(f.native), formatNumber(f.ts), formatNumber(f.value), f.target ?? '', metText(f)]);
    }
  }
  return out;
}

export function textTable(results: readonly BenchResult[]): string {
  const all = [HEAD.slice(), ...rows(results)];
  const widths = HEAD.map((_, c) => Math.max(...all.map((row) => (row[c] ?? '').length)));
  const right = new Set([3, 4, 5]);
  const line = (row: string[]): string =>
    row.map((cell, c) => (right.has(c) ? cell.padStart(widths[c] as number) : cell.padEnd(widths[c] as number))).join('  ').trimEnd();
  return [line(all[0] as string[]), widths.map((w) => '-'.repeat(w)).join('  '), ...all.slice(1).map(line)].join('\n');
}

export function markdownTable(results: readonly BenchResult[]): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  return [
    `| ${HEAD.join(' | ')} |`,
    `| ${HEAD.map((_, c) => (c >= 3 && c <= 5 ? '---:' : '---')).join(' | ')} |`,
    ...rows(results).map((row) => `| ${row.map(esc).join(' | ')} |`),
  ].join('\n');
}
