// The one login the web admin accepts. The password is kept only as a salted scrypt hash, and
// both the user and the password are compared in constant time. Where the credentials come from
// (config / LARS_WEB_USER / LARS_WEB_PASSWORD, or generated on loopback) is resolveCredentials().
import { randomBytes, scrypt, timingSafeEqual, createHash } from 'node:crypto';
import { LarsError } from '../errors.js';

/** scrypt cost: about 30 ms a check on this class of machine; login attempts are rate-limited too. */
const SCRYPT = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
const KEY_BYTES = 32;

function scryptAsync(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_BYTES, SCRYPT, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** Fixed-length digest so that user names of any length compare in constant time. */
const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export class Credentials {
  private constructor(
    readonly user: string,
    private readonly userDigest: Buffer,
    private readonly salt: Buffer,
    private readonly hash: Buffer,
  ) {}

  /** Hashes `password`; the plain text is not kept. */
  static async create(user: string, password: string): Promise<Credentials> {
    const salt = randomBytes(16);
    return new Credentials(user, digest(user), salt, await scryptAsync(password, salt));
  }

  /** true when both match. Always runs scrypt, so a wrong user takes as long as a wrong password. */
  async verify(user: string, password: string): Promise<boolean> {
    const candidate = await scryptAsync(password, this.salt);
    const userOk = timingSafeEqual(digest(user), this.userDigest);
    const passwordOk = timingSafeEqual(candidate, this.hash);
    return userOk && passwordOk;
  }
}

export interface ResolvedLogin {
  readonly user: string;
  readonly password: string;
  /** true when the password was generated because none was configured (print it once). */
  readonly generated: boolean;
}

export const DEFAULT_USER = 'admin';

export function isLoopback(ip: string): boolean {
  return ip.startsWith('127.');
}

/**
 * The login from [web] user / password (config, env already applied). On a loopback address an
 * unset user is "admin" and an unset password is generated; on any other address both must be set,
 * so no default password ever works in production.
 */
export function resolveLogin(
  web: { readonly ip: string; readonly user: string | undefined; readonly password: string | undefined },
  random: (bytes: number) => Buffer = randomBytes,
): ResolvedLogin {
  const user = web.user !== undefined && web.user !== '' ? web.user : undefined;
  const password = web.password !== undefined && web.password !== '' ? web.password : undefined;
  if (!isLoopback(web.ip) && (user === undefined || password === undefined)) {
    const missing = [user === undefined ? 'user (LARS_WEB_USER)' : '', password === undefined ? 'password (LARS_WEB_PASSWORD)' : '']
      .filter((s) => s !== '')
      .join(' and ');
    throw new LarsError(
      'ERR_CONFIG',
      `[web] ip ${web.ip} is not a loopback address, so the web admin needs a configured login: set [web] ${missing}, ` +
        'or listen on 127.0.0.1',
    );
  }
  if (password !== undefined) return { user: user ?? DEFAULT_USER, password, generated: false };
  return { user: user ?? DEFAULT_USER, password: random(12).toString('base64url'), generated: true };
}
