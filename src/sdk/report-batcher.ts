// Reports queued per agent port and sent as ReportBatchRequest (msgid 9, EXTENSIONS §1, §5): one
// datagram per port every flushMs at the latest, or as soon as maxReports are waiting. Everything
// about a module goes to one port, so a module's reports keep their order. The queue is columns
// of typed arrays, allocated once, and a batch is encoded straight into a scratch buffer: no
// object per report, no protobufjs on this path.
//
// Lives on the event loop of its LarsClient, like the client. One timer for all ports, armed by
// the first report after a flush.
import { HEADER_SIZE } from '../wire/frame.js';
import { MsgId } from '../wire/messages.js';
import { AGENT_PORT_COUNT } from '../wire/agent-ports.js';
import { writeField } from './varint-writer.js';

/** A batch goes once this many reports wait on a port. */
export const REPORT_BATCH_MAX = 1000;
/** No report waits longer than this. */
export const REPORT_FLUSH_MS = 5;
/**
 * The longest encoding of one report: tag and length (2); modid, cmdid, retcode as negative
 * int32s (3 × 11); host with a negative ip and a port up to 65535 (2 + 11 + 4); usetime_us (6).
 * 1 000 of them fit one datagram (65 507 bytes) with room to spare.
 */
const MAX_REPORT_BYTES = 58;

// Protobuf tags of ReportBatchRequest.report (1, length-delimited) and of ReportRequest's fields.
const TAG_REPORT = 0x0a;
const TAG_MODID = 0x08;
const TAG_CMDID = 0x10;
const TAG_HOST = 0x1a;
const TAG_RETCODE = 0x20;
const TAG_USETIME = 0x28;
const TAG_HOST_IP = 0x08;
const TAG_HOST_PORT = 0x10;

/** The reports waiting for one port, as columns. */
class PortQueue {
  readonly modid: Int32Array;
  readonly cmdid: Int32Array;
  readonly ip: Int32Array;
  readonly port: Int32Array;
  readonly retcode: Int32Array;
  readonly usetimeUs: Uint32Array;
  count = 0;

  constructor(capacity: number) {
    this.modid = new Int32Array(capacity);
    this.cmdid = new Int32Array(capacity);
    this.ip = new Int32Array(capacity);
    this.port = new Int32Array(capacity);
    this.retcode = new Int32Array(capacity);
    this.usetimeUs = new Uint32Array(capacity);
  }
}

export interface ReportBatcherStats {
  /** ReportBatchRequest datagrams handed to the socket. */
  readonly reportBatchesSent: number;
  /** Reports that went in them. */
  readonly reportsBatched: number;
}

export class ReportBatcher {
  readonly #send: (portIndex: number, frame: Buffer) => void;
  readonly #flushMs: number;
  readonly #maxReports: number;
  readonly #queues: PortQueue[];
  readonly #scratch: Buffer;
  #timer: NodeJS.Timeout | undefined;
  #batchesSent = 0;
  #reportsBatched = 0;

  /** `send` hands one ReportBatchRequest frame to the socket, for the agent port base + portIndex. */
  constructor(send: (portIndex: number, frame: Buffer) => void, flushMs = REPORT_FLUSH_MS, maxReports = REPORT_BATCH_MAX) {
    this.#send = send;
    this.#flushMs = flushMs;
    this.#maxReports = Math.min(maxReports, REPORT_BATCH_MAX);
    this.#queues = Array.from({ length: AGENT_PORT_COUNT }, () => new PortQueue(this.#maxReports));
    this.#scratch = Buffer.allocUnsafe(HEADER_SIZE + this.#maxReports * MAX_REPORT_BYTES);
  }

  get stats(): ReportBatcherStats {
    return { reportBatchesSent: this.#batchesSent, reportsBatched: this.#reportsBatched };
  }

  /** Queues one report (arguments already checked, ids and ip as the wire's int32s). */
  add(portIndex: number, modid: number, cmdid: number, ip: number, port: number, retcode: number, usetimeUs: number): void {
    const q = this.#queues[portIndex]!;
    const i = q.count++;
    q.modid[i] = modid;
    q.cmdid[i] = cmdid;
    q.ip[i] = ip;
    q.port[i] = port;
    q.retcode[i] = retcode;
    q.usetimeUs[i] = usetimeUs;
    if (q.count >= this.#maxReports) this.flushPort(portIndex);
    else this.#timer ??= setTimeout(this.#onTimer, this.#flushMs);
  }

  /** Sends what waits for one port now (before a report that bypasses the queue, to keep the order). */
  flushPort(portIndex: number): void {
    const q = this.#queues[portIndex]!;
    if (q.count === 0) return;
    const frame = this.#encode(q);
    this.#batchesSent++;
    this.#reportsBatched += q.count;
    q.count = 0;
    this.#send(portIndex, frame);
  }

  /** Sends everything that waits (the timer, and close()). */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (let i = 0; i < AGENT_PORT_COUNT; i++) this.flushPort(i);
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.flush();
  };

  /** One ReportBatchRequest frame of the queue's reports, in a buffer of its own (the socket keeps it until sent). */
  #encode(q: PortQueue): Buffer {
    const buf = this.#scratch;
    let pos = HEADER_SIZE;
    for (let i = 0; i < q.count; i++) {
      buf[pos] = TAG_REPORT;
      const start = pos + 2; // one length byte: a report is shorter than 128 bytes
      pos = writeField(buf, start, TAG_MODID, q.modid[i]!, true);
      pos = writeField(buf, pos, TAG_CMDID, q.cmdid[i]!, true);
      buf[pos] = TAG_HOST;
      const hostStart = pos + 2;
      pos = writeField(buf, hostStart, TAG_HOST_IP, q.ip[i]!, true);
      pos = writeField(buf, pos, TAG_HOST_PORT, q.port[i]!, true);
      buf[hostStart - 1] = pos - hostStart;
      pos = writeField(buf, pos, TAG_RETCODE, q.retcode[i]!, true);
      pos = writeField(buf, pos, TAG_USETIME, q.usetimeUs[i]!, false);
      buf[start - 1] = pos - start;
    }
    buf.writeInt32LE(MsgId.ReportBatchRequest, 0);
    buf.writeInt32LE(pos - HEADER_SIZE, 4);
    return Buffer.from(buf.subarray(0, pos));
  }
}
