// The SDK's hand-written hot-path frames against the general codec: the same bytes out, the
// same values in, and everything unusual left to the codec.
import { describe, expect, it } from 'vitest';
import { HostReply, ModuleFrames, readGetHostResponse } from '../../src/sdk/udp-frames.js';
import { encodeFrame } from '../../src/wire/frame.js';
import { MsgId, encodeBody, type GetHostResponse } from '../../src/wire/messages.js';

const INT32 = [0, 1, 127, 128, 300, 16_383, 16_384, 2_097_152, 268_435_456, 0x7fffffff, -1, -2, -128, -0x80000000, -1062731343];
const UINT32 = [0, 1, 127, 128, 16_384, 268_435_455, 268_435_456, 0xffffffff];

const canonical = <M extends MsgId>(msgid: M, body: Parameters<typeof encodeBody<M>>[1]): Buffer => encodeFrame(msgid, encodeBody(msgid, body));

describe('ModuleFrames', () => {
  it('writes GetHostRequest as the codec does, for every varint length and sign', () => {
    for (const modid of INT32) {
      for (const cmdid of [0, 1, -5, 0x7fffffff]) {
        const frames = new ModuleFrames(modid, cmdid, 1);
        for (const seq of UINT32) {
          expect(frames.getHost(seq), `${modid}/${cmdid} seq ${seq}`).toEqual(canonical(MsgId.GetHostRequest, { seq, modid, cmdid }));
        }
      }
    }
  });

  it('takes uint32 module ids as the same 32 bits', () => {
    const frames = new ModuleFrames(2 ** 31 + 5, 2 ** 32 - 1, 1);
    expect(frames.getHost(3)).toEqual(canonical(MsgId.GetHostRequest, { seq: 3, modid: (2 ** 31 + 5) | 0, cmdid: -1 }));
  });

  it('writes ReportRequest as the codec does: host always, zero scalars left out, usetime_us when measured', () => {
    for (const modid of [0, 1, -3]) {
      const frames = new ModuleFrames(modid, 7, 1);
      for (const ip of INT32) {
        for (const port of [0, 1, 80, 65535]) {
          for (const retcode of [0, 1, 3, -1]) {
            for (const usetimeUs of [0, 1, 1500, 0xffffffff]) {
              const want = canonical(MsgId.ReportRequest, { modid, cmdid: 7, host: { ip, port }, retcode, ...(usetimeUs > 0 && { usetimeUs }) });
              expect(frames.report(ip, port, retcode, usetimeUs)).toEqual(want);
            }
          }
        }
      }
    }
  });
});

describe('readGetHostResponse', () => {
  const read = (datagram: Buffer): HostReply | undefined => {
    const out = new HostReply();
    return readGetHostResponse(datagram, out) ? out : undefined;
  };
  const frame = (body: GetHostResponse): Buffer => canonical(MsgId.GetHostResponse, body);

  it('reads what the codec writes', () => {
    for (const seq of UINT32) {
      for (const id of INT32) {
        for (const retcode of [0, 1, 2, 3, -7]) {
          const r = read(frame({ seq, modid: id, cmdid: -id | 0, retcode, host: { ip: id, port: 9002 } }));
          expect(r).toEqual(Object.assign(new HostReply(), { seq, modid: id, cmdid: -id | 0, retcode, hasHost: true, ip: id, port: 9002 }));
        }
      }
    }
    expect(read(frame({ seq: 4, modid: 1, cmdid: 1, retcode: 3 }))).toMatchObject({ seq: 4, retcode: 3, hasHost: false, ip: 0, port: 0 });
    // A host with every field zero is still a host (SUCC then fails on it, as with the codec).
    expect(read(frame({ seq: 0, modid: 0, cmdid: 0, retcode: 0, host: { ip: 0, port: 0 } }))).toMatchObject({ hasHost: true });
    // weight is read past.
    expect(read(frame({ seq: 1, modid: 1, cmdid: 1, retcode: 0, host: { ip: 5, port: 6, weight: 300 } }))).toMatchObject({ ip: 5, port: 6 });
  });

  it('resets the reply it reuses', () => {
    const out = new HostReply();
    expect(readGetHostResponse(frame({ seq: 9, modid: 1, cmdid: 1, retcode: 0, host: { ip: 5, port: 6 } }), out)).toBe(true);
    expect(readGetHostResponse(frame({ seq: 10, modid: 2, cmdid: 2, retcode: 3 }), out)).toBe(true);
    expect(out).toEqual(Object.assign(new HostReply(), { seq: 10, modid: 2, cmdid: 2, retcode: 3 }));
  });

  it('leaves anything else to the codec', () => {
    const good = frame({ seq: 1, modid: 1, cmdid: 1, retcode: 0, host: { ip: 5, port: 6 } });
    expect(read(good)).toBeDefined();
    expect(read(good.subarray(0, 7))).toBeUndefined(); // short header
    expect(read(good.subarray(0, good.length - 1))).toBeUndefined(); // length mismatch
    expect(read(canonical(MsgId.ApiGetRouteResponse, { modid: 1, cmdid: 1, host: [] }))).toBeUndefined(); // other msgid
    expect(read(frame({ seq: 1, modid: 1, cmdid: 1, retcode: 0, host: { ip: 5, port: 6, zone: 'az1' } }))).toBeUndefined();
    expect(read(encodeFrame(MsgId.GetHostResponse, Buffer.from([0x30, 0x01])))).toBeUndefined(); // unknown field 6
    expect(read(encodeFrame(MsgId.GetHostResponse, Buffer.from([0x08, 0xff])))).toBeUndefined(); // varint cut short
    expect(read(encodeFrame(MsgId.GetHostResponse, Buffer.from([0x08, ...Array(10).fill(0xff), 0x01])))).toBeUndefined(); // 11-byte varint
    expect(read(encodeFrame(MsgId.GetHostResponse, Buffer.from([0x2a, 0x05, 0x08, 0x01])))).toBeUndefined(); // host longer than the body
    expect(read(encodeFrame(MsgId.GetHostResponse, Buffer.from([0x2a, 0x02, 0x08, 0xff])))).toBeUndefined(); // varint cut by the host's end
    expect(read(encodeFrame(MsgId.GetHostResponse, Buffer.from([0x0a, 0x00])))).toBeUndefined(); // seq with the wrong wire type
  });
});
