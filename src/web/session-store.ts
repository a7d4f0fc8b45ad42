// Login sessions of the web admin. A session lives in this process (so logging out really ends it)
// and reaches the browser as a cookie "<id>.<expiry>.<HMAC>" signed with a key made at start-up:
// a forged, altered or expired cookie is refused before the table is consulted. Each session has
// its own CSRF token, which every state-changing request must echo in the X-CSRF-Token header.
// A restart of the web admin ends every session. Event-loop only.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'lars_session';
export const DEFAULT_SESSION_TTL_MS = 8 * 3600_000;

export interface Session {
  readonly id: string;
  readonly user: string;
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
  readonly csrfToken: string;
}

export interface SessionStoreOptions {
  readonly ttlMs?: number;
  readonly now?: () => number;
  readonly random?: (bytes: number) => Buffer;
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly key: Buffer;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly random: (bytes: number) => Buffer;

  constructor(options: SessionStoreOptions = {}) {
    this.ttlMs = options.ttlMs ?? DEFAULT_SESSION_TTL_MS;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? randomBytes;
    this.key = this.random(32);
  }

  get size(): number {
    return this.sessions.size;
  }

  create(user: string): { session: Session; cookie: string } {
    this.prune();
    const session: Session = {
      id: this.random(18).toString('base64url'),
      user,
      expiresAt: this.now() + this.ttlMs,
      csrfToken: this.random(24).toString('base64url'),
    };
    this.sessions.set(session.id, session);
    const value = `${session.id}.${session.expiresAt}`;
    return { session, cookie: `${value}.${this.sign(value)}` };
  }

  /** The live session a cookie value names, or undefined (bad signature, expired, logged out). */
  lookup(cookie: string | undefined): Session | undefined {
    if (cookie === undefined) return undefined;
    const parts = cookie.split('.');
    if (parts.length !== 3) return undefined;
    const [id, exp, mac] = parts as [string, string, string];
    const expected = Buffer.from(this.sign(`${id}.${exp}`));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    const session = this.sessions.get(id);
    if (session === undefined || String(session.expiresAt) !== exp) return undefined;
    if (session.expiresAt <= this.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return session;
  }

  /** Constant-time check of a request's CSRF token against the session's. */
  checkCsrf(session: Session, token: string | undefined): boolean {
    if (token === undefined || token === '') return false;
    const a = Buffer.from(token);
    const b = Buffer.from(session.csrfToken);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** true while the session `id` exists and has not expired (for open WebSockets). */
  isLive(id: string): boolean {
    const s = this.sessions.get(id);
    return s !== undefined && s.expiresAt > this.now();
  }

  destroy(id: string): void {
    this.sessions.delete(id);
  }

  /** Set-Cookie value carrying a new session. */
  setCookieHeader(cookie: string): string {
    return `${SESSION_COOKIE}=${cookie}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(this.ttlMs / 1000)}`;
  }

  /** Set-Cookie value removing the session cookie. */
  static clearCookieHeader(): string {
    return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
  }

  private sign(value: string): string {
    return createHmac('sha256', this.key).update(value).digest('base64url');
  }

  private prune(): void {
    const t = this.now();
    for (const [id, s] of this.sessions) if (s.expiresAt <= t) this.sessions.delete(id);
  }
}
