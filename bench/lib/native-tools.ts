// The C++ load generators, echo server and balancer runner of bench/native, built on demand into build/bench/ by
// their own CMake project (not part of the addon or the test build). Ninja or make decides what
// is stale, so a second run builds nothing.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/native/addon.js';

export const toolsDir = join(packageRoot, 'build', 'bench');
const sourceDir = join(packageRoot, 'bench', 'native');

export type ToolName = 'udp-client' | 'udp-echo' | 'dns-client' | 'report-load' | 'balancer-ops' | 'junk-client';

function has(cmd: string): boolean {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}

let built = false;

/** Builds (if needed) and returns the path of a tool. Throws with the compiler output on failure. */
export function tool(name: ToolName): string {
  if (!built) {
    mkdirSync(toolsDir, { recursive: true });
    const configured = existsSync(join(toolsDir, 'build.ninja')) || existsSync(join(toolsDir, 'Makefile'));
    try {
      if (!configured) {
        const generator = has('ninja') ? ['-G', 'Ninja'] : [];
        execFileSync('cmake', ['-S', sourceDir, '-B', toolsDir, ...generator, '-DCMAKE_BUILD_TYPE=Release'], { stdio: 'pipe' });
      }
      execFileSync('cmake', ['--build', toolsDir, '--parallel', '2'], { stdio: 'pipe' });
    } catch (err) {
      const e = err as { stdout?: Buffer; stderr?: Buffer; message: string };
      throw new Error(`building bench/native failed: ${e.message}\n${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`);
    }
    built = true;
  }
  return join(toolsDir, name);
}
