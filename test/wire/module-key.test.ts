// The one module key (src/wire/module-key.ts): one key per 32-bit (modid, cmdid) pair, whichever
// way the ids are spelled (int32 from the wire, uint32 from the store), and keys of different
// pairs never collide.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { codecFor } from '../../src/wire/codec.js';
import { MsgId } from '../../src/wire/messages.js';
import { moduleKey } from '../../src/wire/module-key.js';
import { INT32_MAX, INT32_MIN, UINT32_MAX } from './arbitraries.js';

const int32 = fc.integer({ min: INT32_MIN, max: INT32_MAX });
const uint32 = fc.integer({ min: 0, max: UINT32_MAX });

describe('moduleKey', () => {
  it('is "modid/cmdid" in unsigned decimal, the text the status page splits back into ids', () => {
    expect(moduleKey(1, 2)).toBe('1/2');
    expect(moduleKey(-1, INT32_MIN)).toBe('4294967295/2147483648');
    fc.assert(
      fc.property(uint32, uint32, (modid, cmdid) => {
        expect(moduleKey(modid, cmdid).split('/').map(Number)).toEqual([modid, cmdid]);
      }),
    );
  });

  it('gives an int32 id and its uint32 spelling the same key', () => {
    expect(moduleKey(-1, -2)).toBe(moduleKey(UINT32_MAX, UINT32_MAX - 1));
    fc.assert(
      fc.property(int32, int32, (modid, cmdid) => {
        expect(moduleKey(modid, cmdid)).toBe(moduleKey(modid >>> 0, cmdid >>> 0));
      }),
    );
  });

  it('keys different 32-bit pairs differently', () => {
    expect(new Set([moduleKey(1, 23), moduleKey(12, 3), moduleKey(-1, 0), moduleKey(0, -1), moduleKey(123, 0)]).size).toBe(5);
    fc.assert(
      fc.property(int32, int32, int32, int32, (a, b, c, d) => {
        fc.pre((a | 0) !== (c | 0) || (b | 0) !== (d | 0));
        expect(moduleKey(a, b)).not.toBe(moduleKey(c, d));
      }),
    );
  });

  describe.each(['native', 'ts'] as const)('over the %s codec', (impl) => {
    it('a module keeps its key through encode and decode (the store\'s uint32 in, int32 out)', () => {
      const codec = codecFor(impl);
      fc.assert(
        fc.property(uint32, uint32, (modid, cmdid) => {
          const datagram = codec.decodeDatagram(codec.encodeFrame(MsgId.GetRouteRequest, { modid: modid | 0, cmdid: cmdid | 0 }));
          const back = datagram.ok ? codec.decodeBody(MsgId.GetRouteRequest, datagram.frame.body) : null;
          expect(back).not.toBeNull();
          expect(moduleKey(back!.modid, back!.cmdid)).toBe(moduleKey(modid, cmdid));
        }),
      );
    });
  });
});
