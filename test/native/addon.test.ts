// The addon loader and the native build script: the errors a newcomer meets first must say
// what to do next.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { DnsFrontendOptions } from '../../src/dns/dns-frontend.js';
import { NativeDnsFrontend } from '../../src/dns/native-dns-frontend.js';
import { TsDnsFrontend } from '../../src/dns/ts-dns-frontend.js';
import { LarsError } from '../../src/errors.js';
import { addonPath, implementation, loadAddonFrom, loadNative, parseImplementation } from '../../src/native/addon.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'lars-addon-'));
}

describe('loadAddonFrom', () => {
  it('says how to build the addon when it is missing', () => {
    const dir = tempDir();
    expect(() => loadAddonFrom(join(dir, 'lars_native.node'), join(dir, 'native'))).toThrow(
      expect.objectContaining({ code: 'ERR_NATIVE_MISSING', message: expect.stringMatching(/npm run build:native.*LARS_IMPL=ts/) }),
    );
  });

  it('refuses an addon older than a source in native/, and loads it once rebuilt', () => {
    const dir = tempDir();
    const addon = join(dir, 'lars_native.node');
    copyFileSync(addonPath, addon);
    mkdirSync(join(dir, 'native', 'wire'), { recursive: true });
    const source = join(dir, 'native', 'wire', 'frame.cc');
    writeFileSync(source, '// a source\n');
    const now = Date.now() / 1000;
    utimesSync(addon, now - 60, now - 60);
    utimesSync(source, now, now);
    expect(() => loadAddonFrom(addon, join(dir, 'native'))).toThrow(
      expect.objectContaining({ code: 'ERR_NATIVE_STALE', message: expect.stringMatching(/npm run build:native/) }),
    );
    utimesSync(addon, now + 1, now + 1);
    expect(loadAddonFrom(addon, join(dir, 'native')).wire.headerSize).toBe(8);
  });

  it('does not count the C++ tests, the fuzz targets or non-source files as addon inputs', () => {
    const dir = tempDir();
    const addon = join(dir, 'lars_native.node');
    copyFileSync(addonPath, addon);
    mkdirSync(join(dir, 'native', 'test'), { recursive: true });
    writeFileSync(join(dir, 'native', 'test', 'wire_test.cc'), '// a test\n');
    mkdirSync(join(dir, 'native', 'fuzz'), { recursive: true });
    writeFileSync(join(dir, 'native', 'fuzz', 'view_reader_fuzz.cc'), '// a fuzz target\n');
    writeFileSync(join(dir, 'native', 'fuzz', 'CMakeLists.txt'), '# fuzz targets\n');
    writeFileSync(join(dir, 'native', 'README.md'), 'notes\n');
    const now = Date.now() / 1000;
    utimesSync(addon, now - 60, now - 60);
    expect(loadAddonFrom(addon, join(dir, 'native')).wire.headerSize).toBe(8);
  });
});

describe('implementation', () => {
  const saved = process.env.LARS_IMPL;
  afterEach(() => {
    if (saved === undefined) delete process.env.LARS_IMPL;
    else process.env.LARS_IMPL = saved;
  });

  it('is native by default, the configured value otherwise, and LARS_IMPL wins over both', () => {
    delete process.env.LARS_IMPL;
    expect(implementation()).toBe('native');
    expect(implementation('ts')).toBe('ts');
    process.env.LARS_IMPL = 'ts';
    expect(implementation('native')).toBe('ts');
  });

  it('refuses anything but native or ts, naming the source', () => {
    expect(() => parseImplementation('fast', 'LARS_IMPL')).toThrow(expect.objectContaining({ code: 'ERR_CONFIG', message: expect.stringMatching(/LARS_IMPL.*"fast"/) }));
  });
});

describe('npm run build:native', () => {
  it('names the missing tools and how to install them, in one message', () => {
    const r = spawnSync(process.execPath, ['scripts/build-native.mjs'], { env: { PATH: tempDir() }, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cmake.*C\+\+17 compiler/);
    expect(r.stderr).toMatch(/apt-get install -y cmake g\+\+ make/);
  });

  it('leaves an addon it found up to date newer than its sources, so it cures the refusal it is named in', () => {
    // The addon was built before this test; with nothing to relink, only the script moves its time.
    const started = Date.now();
    const r = spawnSync(process.execPath, ['scripts/build-native.mjs'], { encoding: 'utf8', timeout: 600_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(statSync(addonPath).mtimeMs).toBeGreaterThanOrEqual(started - 1000);
  }, 600_000);
});

describe('errors from the addon', () => {
  it('are LarsError instances with a stable code (the class handed over at load)', () => {
    let caught: unknown;
    try {
      loadNative().wire.decodeBody(1, 'not bytes' as unknown as Uint8Array);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(LarsError);
    expect(caught).toMatchObject({ name: 'LarsError', code: 'ERR_INVALID_INPUT', message: expect.stringMatching(/Buffer or Uint8Array/) });
  });

  describe.each(['native', 'ts'] as const)('the same failure from the %s DNS frontend', (impl) => {
    it('a port in use gives LarsError ERR_LISTEN naming the address', async () => {
      const taken = createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      const { port } = taken.address() as AddressInfo;
      const opts: DnsFrontendOptions = { ip: '127.0.0.1', port, maxConn: 10, threadNum: 1, outputCapBytes: 1 << 20, maxSubscriptionsPerConn: 10 };
      const frontend = impl === 'native' ? new NativeDnsFrontend(opts) : new TsDnsFrontend(opts);
      try {
        const failed = frontend.listen();
        await expect(failed).rejects.toBeInstanceOf(LarsError);
        await expect(failed).rejects.toMatchObject({ code: 'ERR_LISTEN', message: expect.stringContaining(`cannot listen on 127.0.0.1:${port}`) });
      } finally {
        await frontend.close();
        await new Promise((resolve) => taken.close(resolve));
      }
    });
  });
});
