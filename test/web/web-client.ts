// Test helpers of the web admin suites: start a web admin on a free port against a store, and a
// small HTTP client (node:http, so a test can pick its source address and send any header) that
// keeps the session cookie and the CSRF token like a browser script would.
import { request } from 'node:http';
import { startWeb, type RunningWeb, type StartWebOptions } from '../../src/web/start-web.js';
import { testConfig, type StoreKind } from '../helpers/roles.js';

export const USER = 'operator';
export const PASSWORD = 'correct horse battery staple';

export async function startTestWeb(store: StoreKind, options: StartWebOptions = {}, extra: Record<string, string> = {}): Promise<RunningWeb> {
  const config = testConfig('web', 'ts', store, { 'web.port': '0', 'web.user': USER, 'web.password': PASSWORD, ...extra });
  return startWeb(config, { statusIntervalMs: 100, announce: () => undefined, ...options });
}

export interface Response {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly text: string;
  /** The parsed JSON body (undefined when empty or not JSON). */
  readonly json: any;
}

export interface SendOptions {
  readonly headers?: Record<string, string>;
  /** A JSON body (sets Content-Type) or raw text. */
  readonly body?: unknown;
  readonly raw?: string;
  /** Send the CSRF token (default true when logged in). */
  readonly csrf?: boolean;
  /** Send the session cookie (default true). */
  readonly cookie?: boolean;
  readonly localAddress?: string;
}

export class WebClient {
  cookie: string | undefined;
  csrfToken: string | undefined;

  constructor(readonly port: number) {}

  send(method: string, path: string, opts: SendOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { ...opts.headers };
    let payload: string | undefined;
    if (opts.body !== undefined) {
      payload = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    } else if (opts.raw !== undefined) payload = opts.raw;
    if (payload !== undefined) headers['content-length'] = String(Buffer.byteLength(payload));
    if (opts.cookie !== false && this.cookie !== undefined) headers.cookie = this.cookie;
    if ((opts.csrf ?? true) && this.csrfToken !== undefined && method !== 'GET') headers['x-csrf-token'] ??= this.csrfToken;
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: this.port, method, path, headers, localAddress: opts.localAddress, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text === '' ? undefined : JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  get = (path: string, opts?: SendOptions) => this.send('GET', path, opts);
  post = (path: string, body?: unknown, opts?: SendOptions) => this.send('POST', path, { ...opts, body });
  put = (path: string, body?: unknown, opts?: SendOptions) => this.send('PUT', path, { ...opts, body });
  del = (path: string, opts?: SendOptions) => this.send('DELETE', path, opts);

  /** Logs in; keeps the cookie and the CSRF token. */
  async login(user = USER, password = PASSWORD, localAddress?: string): Promise<Response> {
    const res = await this.post('/api/login', { user, password }, { localAddress });
    if (res.status === 200) {
      const setCookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
      this.cookie = setCookie[0]?.split(';')[0];
      this.csrfToken = res.json.csrfToken;
    }
    return res;
  }
}

/** A minimal WebSocket client for /api/status/live: the upgrade status, then each text message. */
export class LiveClient {
  readonly messages: any[] = [];
  status = 0;
  closed = false;
  private buffer = Buffer.alloc(0);
  private socket: import('node:net').Socket | undefined;

  static open(port: number, opts: { cookie?: string; origin?: string } = {}): Promise<LiveClient> {
    const live = new LiveClient();
    const headers: Record<string, string> = {
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-version': '13',
      'sec-websocket-key': Buffer.from('0123456789abcdef').toString('base64'),
    };
    if (opts.cookie !== undefined) headers.cookie = opts.cookie;
    if (opts.origin !== undefined) headers.origin = opts.origin;
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/api/status/live', headers, agent: false });
      req.on('upgrade', (res, socket, head) => {
        live.status = res.statusCode ?? 0;
        live.socket = socket;
        socket.on('data', (d: Buffer) => live.feed(d));
        socket.on('close', () => (live.closed = true));
        live.feed(head);
        resolve(live);
      });
      req.on('response', (res) => {
        live.status = res.statusCode ?? 0;
        res.resume();
        resolve(live);
      });
      req.on('error', reject);
      req.end();
    });
  }

  close(): void {
    this.socket?.destroy();
  }

  /** Unmasked server frames: FIN text frames only (all this server sends). */
  private feed(data: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, data]);
    for (;;) {
      if (this.buffer.length < 2) return;
      const opcode = (this.buffer[0] as number) & 0x0f;
      let len = (this.buffer[1] as number) & 0x7f;
      let offset = 2;
      if (len === 126) {
        if (this.buffer.length < 4) return;
        len = this.buffer.readUInt16BE(2);
        offset = 4;
      } else if (len === 127) {
        if (this.buffer.length < 10) return;
        len = Number(this.buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (this.buffer.length < offset + len) return;
      const payload = this.buffer.subarray(offset, offset + len);
      this.buffer = this.buffer.subarray(offset + len);
      if (opcode === 1) this.messages.push(JSON.parse(payload.toString('utf8')));
      if (opcode === 8) this.closed = true;
    }
  }
}
