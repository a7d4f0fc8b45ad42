// ReportBatcher: what it sends decodes (protobufjs) to exactly the reports queued, in order, per
// agent port; batches leave at REPORT_BATCH_MAX reports, after REPORT_FLUSH_MS on one timer, or
// on flush(). Time is faked. The native codec (the agent's decoder) must read the same.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { REPORT_BATCH_MAX, REPORT_FLUSH_MS, ReportBatcher } from '../../src/sdk/report-batcher.js';
import { nativeCodec } from '../../src/wire/codec.js';
import { decodeDatagram } from '../../src/wire/frame.js';
import { MsgId, decodeBody, type ReportRequest } from '../../src/wire/messages.js';

type Row = [modid: number, cmdid: number, ip: number, port: number, retcode: number, usetimeUs: number];

/** The ReportRequest a row stands for. */
const requestOf = ([modid, cmdid, ip, port, retcode, usetimeUs]: Row): ReportRequest => ({
  modid,
  cmdid,
  host: { ip, port },
  retcode,
  ...(usetimeUs > 0 && { usetimeUs }),
});

describe('ReportBatcher', () => {
  let sent: { index: number; frame: Buffer }[];
  let batcher: ReportBatcher;
  const reportsOf = (frame: Buffer): ReportRequest[] => {
    const d = decodeDatagram(frame);
    if (!d.ok) throw new Error(`not a frame: ${d.reason}`);
    expect(d.frame.msgid).toBe(MsgId.ReportBatchRequest);
    return decodeBody(MsgId.ReportBatchRequest, d.frame.body).report;
  };
  const normalized = (r: ReportRequest) => ({ modid: r.modid, cmdid: r.cmdid, host: { ip: r.host?.ip ?? 0, port: r.host?.port ?? 0 }, retcode: r.retcode, ...(r.usetimeUs ? { usetimeUs: r.usetimeUs } : {}) });

  beforeEach(() => {
    vi.useFakeTimers();
    sent = [];
    batcher = new ReportBatcher((index, frame) => sent.push({ index, frame }));
  });
  afterEach(() => vi.useRealTimers());

  it('encodes every field as protobuf does: negative int32s, zeros left out, usetime as uint32', () => {
    const rows: Row[] = [
      [1, 2, 0x0a000001, 9001, 0, 0],
      [-1, -2147483648, -1062731343, 65535, 1, 4294967295],
      [2147483647, 0, 0, 0, -7, 1],
      [0, 0, -1, 1, 2147483647, 127],
      [300, 128, 16384, 128, -2147483648, 128],
    ];
    for (const r of rows) batcher.add(0, ...r);
    batcher.flush();
    expect(sent).toHaveLength(1);
    expect(reportsOf(sent[0]!.frame).map(normalized)).toEqual(rows.map(requestOf).map(normalized));
    // The agent's own decoder reads the same.
    const native = nativeCodec().decodeBody(MsgId.ReportBatchRequest, sent[0]!.frame.subarray(8));
    expect(native?.report.map(normalized)).toEqual(rows.map(requestOf).map(normalized));
  });

  it('keeps one queue per agent port, each in order, and sends each as its own datagram', () => {
    const rows: [number, Row][] = [];
    for (let i = 0; i < 30; i++) rows.push([i % 3, [i, 1, 100 + i, i, i % 2, i * 10]]);
    for (const [index, r] of rows) batcher.add(index, ...r);
    expect(sent).toHaveLength(0);
    vi.advanceTimersByTime(REPORT_FLUSH_MS);
    expect(sent.map((s) => s.index).sort()).toEqual([0, 1, 2]);
    for (const s of sent) {
      expect(reportsOf(s.frame).map(normalized)).toEqual(rows.filter(([i]) => i === s.index).map(([, r]) => normalized(requestOf(r))));
    }
    expect(batcher.stats).toEqual({ reportBatchesSent: 3, reportsBatched: 30 });
  });

  it('sends within REPORT_FLUSH_MS of the first queued report, on one timer', () => {
    batcher.add(1, 1, 1, 1, 1, 0, 0);
    vi.advanceTimersByTime(REPORT_FLUSH_MS - 1);
    batcher.add(1, 1, 1, 1, 1, 1, 0);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1);
    expect(sent).toHaveLength(1);
    expect(reportsOf(sent[0]!.frame).map((r) => r.retcode)).toEqual([0, 1]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('sends at once when REPORT_BATCH_MAX reports wait on a port; the largest batch fits one datagram', () => {
    // The longest encoding of each field: negative ids, ip and retcode, the largest port and usetime.
    for (let i = 0; i < REPORT_BATCH_MAX; i++) batcher.add(2, -1, -2, -3, 65535, -4, 4294967295);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.frame.length).toBeLessThanOrEqual(65_507);
    expect(reportsOf(sent[0]!.frame)).toHaveLength(REPORT_BATCH_MAX);
    batcher.flush();
    expect(sent).toHaveLength(1);
  });

  it('flushPort sends one port\'s queue only; flush sends the rest and disarms the timer', () => {
    batcher.add(0, 1, 1, 1, 1, 0, 0);
    batcher.add(1, 2, 2, 2, 2, 0, 0);
    batcher.flushPort(0);
    expect(sent.map((s) => s.index)).toEqual([0]);
    batcher.flush();
    expect(sent.map((s) => s.index)).toEqual([0, 1]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('hands each batch a buffer of its own (the socket keeps it until sent)', () => {
    batcher.add(0, 1, 1, 1, 1, 0, 0);
    batcher.flush();
    batcher.add(0, 2, 2, 2, 2, 1, 0);
    batcher.flush();
    expect(reportsOf(sent[0]!.frame)[0]!.modid).toBe(1);
    expect(reportsOf(sent[1]!.frame)[0]!.modid).toBe(2);
  });
});
