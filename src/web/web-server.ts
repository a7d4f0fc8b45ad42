// The web admin's server on uWebSockets.js: copies each request out of uWS (whose request object
// lives only during the callback), applies access control once for every route — session,
// CSRF token and Origin on state-changing requests —, dispatches through the Router, and writes
// the reply with the security headers. Also the /api/status/live WebSocket, which sends the
// StatusMonitor's snapshot on open and each poll's update after. Event-loop only.
import uWS from 'uWebSockets.js';
import { isLarsError, LarsError } from '../errors.js';
import { createLogger } from '../log.js';
import { errorReply, htmlReply, jsonReply, parseCookies, redirect, SECURITY_HEADERS, STATUS_TEXT, type WebReply, type WebRequest } from './http.js';
import { loginPage } from './pages.js';
import { Router, type RouteDef } from './router.js';
import { SESSION_COOKIE, type SessionStore } from './session-store.js';
import type { StatusMonitor, StatusUpdate } from './status-monitor.js';

const log = createLogger('web');

/** Largest request body accepted (a whole route's node list fits many times over). */
export const MAX_BODY_BYTES = 1024 * 1024;
export const LIVE_STATUS_PATH = '/api/status/live';

export interface WebServerOptions {
  readonly ip: string;
  readonly port: number;
  readonly routes: readonly RouteDef[];
  readonly sessions: SessionStore;
  readonly monitor: StatusMonitor;
  readonly staticFiles: ReadonlyMap<string, WebReply>;
  /** /healthz body; ok false answers 503. */
  readonly health: () => { ok: boolean; [k: string]: unknown };
}

interface LiveSocket {
  readonly sessionId: string;
}

/**
 * What this uWebSockets.js build has beyond its .d.ts: listen(host, port, options, cb) — used
 * with LIBUS_LISTEN_EXCLUSIVE_PORT so a second admin cannot silently share the port through
 * SO_REUSEPORT — and app.close(), which also ends idle keep-alive connections.
 */
type FullApp = uWS.TemplatedApp & {
  listen(host: string, port: number, options: number, cb: (listenSocket: uWS.us_listen_socket | false) => void): unknown;
  close(): void;
};
const EXCLUSIVE_PORT = (uWS as unknown as { LIBUS_LISTEN_EXCLUSIVE_PORT: number }).LIBUS_LISTEN_EXCLUSIVE_PORT;

const STATE_CHANGING = new Set(['POST', 'PUT', 'DELETE', 'PATCH']);

/** Refuses a state-changing request sent from another origin (a browser always sends Origin on those). */
function crossOrigin(headers: ReadonlyMap<string, string>): boolean {
  const origin = headers.get('origin');
  if (origin === undefined) return false;
  return origin !== `http://${headers.get('host') ?? ''}`;
}

export class WebServer {
  private readonly app = uWS.App() as unknown as FullApp;
  private readonly router: Router;
  private listenSocket: uWS.us_listen_socket | undefined;
  private readonly sockets = new Set<uWS.WebSocket<LiveSocket>>();
  private readonly unsubscribe: () => void;

  constructor(private readonly opts: WebServerOptions) {
    this.router = new Router([
      ...opts.routes,
      { method: 'GET', path: '/login', access: 'public', kind: 'page', handler: ({ session }) => (session !== undefined ? redirect('/routes') : loginPage()) },
      {
        method: 'GET',
        path: '/healthz',
        access: 'public',
        kind: 'api',
        handler: () => {
          const h = opts.health();
          return jsonReply(h.ok ? 200 : 503, h);
        },
      },
    ]);
    this.app.ws<LiveSocket>(LIVE_STATUS_PATH, {
      maxPayloadLength: 1024,
      idleTimeout: 60,
      sendPingsAutomatically: true,
      maxBackpressure: 4 * 1024 * 1024,
      upgrade: (res, req, context) => this.upgrade(res, req, context),
      open: (ws) => {
        this.sockets.add(ws);
        ws.send(JSON.stringify(opts.monitor.snapshot()));
      },
      close: (ws) => {
        this.sockets.delete(ws);
      },
    });
    this.app.any('/*', (res, req) => this.onRequest(res, req));
    this.unsubscribe = opts.monitor.onUpdate((u) => this.broadcast(u));
  }

  /** Resolves with the port listened on (the configured one, or a free one for port 0). */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.app.listen(this.opts.ip, this.opts.port, EXCLUSIVE_PORT, (socket: uWS.us_listen_socket | false) => {
        if (socket === false) {
          const { ip, port } = this.opts;
          reject(new LarsError('ERR_CONFIG', `the web admin cannot listen on ${ip}:${port}: the port is taken or the address is not this host's; set [web] ip / port (LARS_WEB_PORT)`));
          return;
        }
        this.listenSocket = socket;
        resolve(uWS.us_socket_local_port(socket as unknown as uWS.us_socket));
      });
    });
  }

  async close(): Promise<void> {
    this.unsubscribe();
    if (this.listenSocket !== undefined) uWS.us_listen_socket_close(this.listenSocket);
    this.listenSocket = undefined;
    for (const ws of this.sockets) ws.end(1001, 'server stopping');
    this.sockets.clear();
    // Also closes idle keep-alive connections, so nothing keeps the process alive.
    this.app.close();
  }

  private broadcast(update: StatusUpdate): void {
    const text = JSON.stringify(update);
    for (const ws of this.sockets) {
      // A session that ended (logout, expiry) loses its live view too.
      if (!this.opts.sessions.isLive(ws.getUserData().sessionId)) {
        this.sockets.delete(ws);
        ws.end(4001, 'session ended');
      } else if (ws.send(text) === 2) {
        // Dropped for backpressure: this browser's view would drift. Closing makes it reconnect
        // and start again from a fresh snapshot.
        this.sockets.delete(ws);
        ws.end(1013, 'too slow; reconnect');
      }
    }
  }

  private upgrade(res: uWS.HttpResponse, req: uWS.HttpRequest, context: uWS.us_socket_context_t): void {
    const headers = new Map<string, string>();
    req.forEach((k, v) => headers.set(k, v));
    const session = this.opts.sessions.lookup(parseCookies(headers.get('cookie')).get(SESSION_COOKIE));
    if (session === undefined) {
      this.write(res, errorReply(401, 'ERR_UNAUTHENTICATED', 'log in first (POST /api/login)'));
      return;
    }
    if (crossOrigin(headers)) {
      this.write(res, errorReply(403, 'ERR_CSRF', 'cross-origin WebSocket refused'));
      return;
    }
    res.upgrade<LiveSocket>(
      { sessionId: session.id },
      headers.get('sec-websocket-key') ?? '',
      headers.get('sec-websocket-protocol') ?? '',
      headers.get('sec-websocket-extensions') ?? '',
      context,
    );
  }

  private onRequest(res: uWS.HttpResponse, req: uWS.HttpRequest): void {
    // Everything needed from `req` is copied now: it is invalid after this callback returns.
    const method = req.getMethod().toUpperCase();
    const path = req.getUrl();
    const query = new URLSearchParams(req.getQuery() ?? '');
    const headers = new Map<string, string>();
    req.forEach((k, v) => headers.set(k, v));
    const remoteAddress = Buffer.from(res.getRemoteAddressAsText()).toString();
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    const finish = (reply: WebReply): void => {
      if (!aborted) res.cork(() => this.write(res, reply));
    };
    const handle = (body: Buffer): void => {
      const request: WebRequest = { method, path, query, headers, cookies: parseCookies(headers.get('cookie')), remoteAddress, body };
      this.dispatch(request).then(finish, (err: unknown) => {
        log.error(`${method} ${path}: ${(err as Error).stack ?? String(err)}`);
        finish(errorReply(500, 'ERR_INTERNAL', "internal error; see the web admin's log"));
      });
    };

    const length = Number(headers.get('content-length') ?? 0);
    if (length > MAX_BODY_BYTES) {
      finish(errorReply(413, 'ERR_TOO_LARGE', `request bodies are limited to ${MAX_BODY_BYTES} bytes`));
      return;
    }
    if (length === 0 && !headers.has('transfer-encoding')) {
      handle(Buffer.alloc(0));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    res.onData((chunk, isLast) => {
      if (aborted || size > MAX_BODY_BYTES) return;
      size += chunk.byteLength;
      if (size > MAX_BODY_BYTES) {
        finish(errorReply(413, 'ERR_TOO_LARGE', `request bodies are limited to ${MAX_BODY_BYTES} bytes`));
        return;
      }
      // The chunk's memory is reused after this callback: copy it.
      chunks.push(Buffer.from(new Uint8Array(chunk)));
      if (isLast) handle(Buffer.concat(chunks));
    });
  }

  /** Access control, then the route's handler. Every failure becomes a reply. */
  async dispatch(req: WebRequest): Promise<WebReply> {
    if (req.method === 'GET') {
      const file = this.opts.staticFiles.get(req.path);
      if (file !== undefined) return file;
    }
    const isApi = req.path.startsWith('/api/');
    const match = this.router.match(req.method, req.path);
    if (!match.found) {
      if (match.badEncoding) return errorReply(400, 'ERR_INVALID_INPUT', 'the URL path is not valid percent-encoding');
      if (match.allowed.length > 0) {
        const reply = errorReply(405, 'ERR_METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${req.path}; use ${match.allowed.join(' or ')}`);
        return { ...reply, headers: { ...reply.headers, allow: match.allowed.join(', ') } };
      }
      return isApi ? errorReply(404, 'ERR_NOT_FOUND', `no API endpoint ${req.path}; see docs/web.md`) : htmlReply(404, '<!doctype html><title>Not found</title><p>Not found. <a href="/routes">Routes</a></p>');
    }
    const { route, params } = match;
    const session = this.opts.sessions.lookup(req.cookies.get(SESSION_COOKIE));
    if (STATE_CHANGING.has(req.method) && crossOrigin(req.headers)) {
      return errorReply(403, 'ERR_CSRF', `cross-origin request refused (Origin ${req.headers.get('origin') ?? ''})`);
    }
    if (route.access === 'session') {
      if (session === undefined) {
        return route.kind === 'page' ? redirect('/login') : errorReply(401, 'ERR_UNAUTHENTICATED', 'log in first: POST /api/login, then send the session cookie');
      }
      if (STATE_CHANGING.has(req.method) && !this.opts.sessions.checkCsrf(session, req.headers.get('x-csrf-token'))) {
        return errorReply(403, 'ERR_CSRF', "missing or wrong X-CSRF-Token header: send the session's csrfToken (from POST /api/login or GET /api/session)");
      }
    }
    try {
      return await route.handler({ req, params, session });
    } catch (err) {
      if (isLarsError(err, 'ERR_INVALID_INPUT')) return errorReply(400, 'ERR_INVALID_INPUT', err.message);
      if (isLarsError(err, 'ERR_STORE_UNAVAILABLE')) return errorReply(503, 'ERR_STORE_UNAVAILABLE', err.message);
      if (isLarsError(err, 'ERR_STORE')) {
        log.error(`${req.method} ${req.path}: ${err.message}`);
        return errorReply(500, 'ERR_STORE', err.message);
      }
      throw err;
    }
  }

  private write(res: uWS.HttpResponse, reply: WebReply): void {
    res.writeStatus(`${reply.status} ${STATUS_TEXT[reply.status] ?? ''}`.trim());
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.writeHeader(k, v);
    for (const [k, v] of Object.entries(reply.headers ?? {})) res.writeHeader(k, v);
    for (const c of reply.setCookies ?? []) res.writeHeader('set-cookie', c);
    res.end(reply.body ?? '');
  }
}
