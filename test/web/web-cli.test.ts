// `lars web` as a user runs it: the built CLI in a child process. On loopback without a password
// it prints a generated one (which then logs in); off loopback without one it refuses to start.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempSqlite, storeEnv } from '../helpers/roles.js';
import { WebClient } from './web-client.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(root, 'dist', 'src', 'cli', 'main.js');

function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, ...storeEnv(tempSqlite()), LARS_IMPL: 'ts', ...extra };
  return env;
}

const children: ChildProcess[] = [];

beforeAll(async () => {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: build first with "npm run build" (npm test runs tsc)`);
  for (const src of ['src/web/start-web.ts', 'src/web/web-server.ts', 'src/cli/commands/web.ts']) {
    const out = join(root, 'dist', src.replace(/\.ts$/, '.js'));
    if (!existsSync(out) || statSync(out).mtimeMs < statSync(join(root, src)).mtimeMs) throw new Error(`${out} is older than ${src}: rebuild with "npm run build"`);
  }
  // The front end's files are copied by the build's asset step; make sure this build has them.
  await new Promise<void>((res, rej) => execFile(process.execPath, [join(root, 'scripts', 'build-web.mjs')], (err) => (err ? rej(err) : res())));
});

afterAll(() => {
  for (const c of children) c.kill('SIGTERM');
});

describe('lars web', () => {
  it('on loopback without a password prints a generated one that logs in', async () => {
    const child = spawn(process.execPath, [cli, 'web', '--set', 'web.port=0'], { env: baseEnv({}), stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stderr = '';
    const found = await new Promise<{ password: string; port: number }>((res, rej) => {
      child.on('exit', (code) => rej(new Error(`lars web exited (${code}): ${stderr}`)));
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        const pw = /web admin: user admin, password (\S+) \(set LARS_WEB_PASSWORD to choose one\)/.exec(stderr);
        const port = /web admin listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr);
        if (pw && port) res({ password: pw[1]!, port: Number(port[1]) });
      });
    });
    const c = new WebClient(found.port);
    expect((await c.login('admin', 'wrong')).status).toBe(401);
    expect((await c.login('admin', found.password)).status).toBe(200);
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('off loopback without a password refuses to start, saying what to set', async () => {
    const result = await new Promise<{ code: number; stderr: string }>((res) => {
      execFile(process.execPath, [cli, 'web', '--set', 'web.ip=0.0.0.0', '--set', 'web.port=0'], { env: baseEnv({ LARS_WEB_USER: 'ops' }) }, (err, _out, stderr) =>
        res({ code: err === null ? 0 : Number(err.code), stderr }),
      );
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('lars: [web] ip 0.0.0.0 is not a loopback address');
    expect(result.stderr).toContain('password (LARS_WEB_PASSWORD)');
  });
});
