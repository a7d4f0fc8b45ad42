// Running the built `lars` CLI from tests: where it is, a check that the build is not older than
// the sources a suite exercises, and one run with the exit code and both outputs.
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cliPath = join(root, 'dist', 'src', 'cli', 'main.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** A missing or stale build would test old code: fail with how to rebuild instead. */
export function checkBuild(sources: readonly string[]): void {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: build first with "npm run build" (npm test does)`);
  for (const src of sources) {
    const out = join(root, 'dist', src.replace(/\.ts$/, '.js'));
    if (!existsSync(out) || statSync(out).mtimeMs < statSync(join(root, src)).mtimeMs) {
      throw new Error(`${out} is older than ${src}: rebuild with "npm run build"`);
    }
  }
}

/** The environment without any LARS_* variable of the test runner's own, plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('LARS_')) env[k] = v;
  return { ...env, LARS_LOG_LEVEL: 'warn', ...extra };
}

/** Runs `lars ARGS` to completion; never rejects (a non-zero exit is in `code`). */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<CliRun> {
  return new Promise((resolvePromise) => {
    execFile(process.execPath, [cliPath, ...args], { env, cwd: root, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolvePromise({ code, stdout, stderr });
    });
  });
}
