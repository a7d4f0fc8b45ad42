// The addon loader and the native build script: the errors a newcomer meets first must say
// what to do next.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { addonPath, implementation, loadAddonFrom, parseImplementation } from '../../src/native/addon.js';

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

  it('does not count the C++ tests or non-source files as addon inputs', () => {
    const dir = tempDir();
    const addon = join(dir, 'lars_native.node');
    copyFileSync(addonPath, addon);
    mkdirSync(join(dir, 'native', 'test'), { recursive: true });
    writeFileSync(join(dir, 'native', 'test', 'wire_test.cc'), '// a test\n');
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
});
