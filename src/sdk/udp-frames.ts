// The SDK's hot-path frames, written and read by hand: GetHostRequest and ReportRequest out,
// GetHostResponse in. Going through protobufjs costs a validated object, a writer and a decoded
// object per call, several times the rest of a get_host. The bytes are exactly the canonical
// proto3 encodeBody() writes (fields in number order, zero scalars left out, negative int32s as
// 10-byte varints); test/sdk/udp-frames.test.ts holds them to that. Anything these do not cover
// (a hash_key, a reply with a zone or an unknown field) goes through the general codec.
import { HEADER_SIZE } from '../wire/frame.js';
import { MsgId } from '../wire/messages.js';
import { MAX_VARINT, fieldSize, writeField } from './varint-writer.js';

/** Varint tags: field number << 3 | wire type 0; HostInfo in ReportRequest is field 3, wire type 2. */
const Tag = { f1: 0x08, f2: 0x10, f3: 0x18, f4: 0x20, f5: 0x28, reportHost: 0x1a } as const;

/** One module's fixed bytes, encoded once: (modid, cmdid) as GetHostRequest fields 2, 3 and as ReportRequest fields 1, 2. */
export class ModuleFrames {
  readonly modid: number;
  readonly cmdid: number;
  /** The agent port this module's datagrams go to. */
  readonly port: number;
  readonly #getHostIds: Buffer;
  readonly #reportIds: Buffer;

  constructor(modid: number, cmdid: number, port: number) {
    this.modid = modid | 0;
    this.cmdid = cmdid | 0;
    this.port = port;
    this.#getHostIds = idFields(this.modid, this.cmdid, Tag.f2, Tag.f3);
    this.#reportIds = idFields(this.modid, this.cmdid, Tag.f1, Tag.f2);
  }

  /** A GetHostRequest frame without hash_key: the template with seq patched in. */
  getHost(seq: number): Buffer {
    const ids = this.#getHostIds;
    const bodyLen = fieldSize(seq, false) + ids.length;
    const frame = Buffer.allocUnsafe(HEADER_SIZE + bodyLen);
    writeHeader(frame, MsgId.GetHostRequest, bodyLen);
    ids.copy(frame, writeField(frame, HEADER_SIZE, Tag.f1, seq, false));
    return frame;
  }

  /** A ReportRequest frame; ip is the int32 of HostInfo.ip, usetimeUs 0 = not measured. */
  report(ip: number, port: number, retcode: number, usetimeUs: number): Buffer {
    const ids = this.#reportIds;
    const hostLen = fieldSize(ip, true) + fieldSize(port, true);
    const bodyLen = ids.length + 2 + hostLen + fieldSize(retcode, true) + fieldSize(usetimeUs, false);
    const frame = Buffer.allocUnsafe(HEADER_SIZE + bodyLen);
    writeHeader(frame, MsgId.ReportRequest, bodyLen);
    let off = HEADER_SIZE + ids.copy(frame, HEADER_SIZE);
    // hostLen < 128: one byte of length.
    frame[off++] = Tag.reportHost;
    frame[off++] = hostLen;
    off = writeField(frame, off, Tag.f1, ip, true);
    off = writeField(frame, off, Tag.f2, port, true);
    off = writeField(frame, off, Tag.f4, retcode, true);
    writeField(frame, off, Tag.f5, usetimeUs, false);
    return frame;
  }
}

function idFields(modid: number, cmdid: number, modidTag: number, cmdidTag: number): Buffer {
  const out = Buffer.allocUnsafe(fieldSize(modid, true) + fieldSize(cmdid, true));
  writeField(out, writeField(out, 0, modidTag, modid, true), cmdidTag, cmdid, true);
  return out;
}

function writeHeader(frame: Buffer, msgid: number, bodyLen: number): void {
  frame.writeInt32LE(msgid, 0);
  frame.writeInt32LE(bodyLen, 4);
}

/** A GetHostResponse as readGetHostResponse leaves it: reused from datagram to datagram. */
export class HostReply {
  seq = 0;
  modid = 0;
  cmdid = 0;
  retcode = 0;
  /** HostInfo was on the wire (ip and port then hold its values, 0 when absent). */
  hasHost = false;
  ip = 0;
  port = 0;
}

/**
 * Reads a datagram that is one plain GetHostResponse frame into out. false: anything else
 * (another msgid, a bad header, a field it does not know, a zone, a truncated varint), for the
 * general codec to decide about; out is then undefined.
 */
export function readGetHostResponse(d: Buffer, out: HostReply): boolean {
  if (d.length < HEADER_SIZE || d.readInt32LE(0) !== MsgId.GetHostResponse || d.readInt32LE(4) !== d.length - HEADER_SIZE) return false;
  out.seq = out.modid = out.cmdid = out.retcode = out.ip = out.port = 0;
  out.hasHost = false;
  const r = new VarintReader(d, HEADER_SIZE, d.length);
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag === Tag.f1) out.seq = r.varint() >>> 0;
    else if (tag === Tag.f2) out.modid = r.varint();
    else if (tag === Tag.f3) out.cmdid = r.varint();
    else if (tag === Tag.f4) out.retcode = r.varint();
    else if (tag === 0x2a) {
      const len = r.varint();
      if (r.failed || len < 0 || len > r.end - r.pos) return false;
      const host = new VarintReader(d, r.pos, r.pos + len);
      if (!readHostInfo(host, out)) return false;
      r.pos += len;
      out.hasHost = true;
    } else return false;
    if (r.failed) return false;
  }
  return true;
}

/** HostInfo fields 1..3 (ip, port, weight); a zone or anything else: false. */
function readHostInfo(r: VarintReader, out: HostReply): boolean {
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag === Tag.f1) out.ip = r.varint();
    else if (tag === Tag.f2) out.port = r.varint();
    else if (tag === Tag.f3) r.varint();
    else return false;
    if (r.failed) return false;
  }
  return true;
}

/** Varints of a byte range as int32 (the low 32 bits, as protobuf reads int32 and uint32 fields). */
class VarintReader {
  readonly #buf: Buffer;
  pos: number;
  readonly end: number;
  /** Set by a varint running past the end or past 10 bytes; its value is then meaningless. */
  failed = false;

  constructor(buf: Buffer, pos: number, end: number) {
    this.#buf = buf;
    this.pos = pos;
    this.end = end;
  }

  varint(): number {
    let value = 0;
    for (let i = 0; i < MAX_VARINT; i++) {
      if (this.pos >= this.end) break;
      const b = this.#buf[this.pos++]!;
      // Bits past 31 are dropped: bytes 0..4 carry bits 0..34.
      if (i < 5) value |= (b & 0x7f) << (7 * i);
      if (b < 0x80) return value | 0;
    }
    this.failed = true;
    return 0;
  }
}
