// A table of (method, path pattern) → handler. Patterns are literal segments and ":name"
// parameters; a parameter matches one non-empty segment, percent-decoded.
import type { WebReply, WebRequest } from './http.js';
import type { Session } from './session-store.js';

export interface HandlerContext {
  readonly req: WebRequest;
  /** Parameters in pattern order. */
  readonly params: readonly string[];
  /** Set for routes that require a session. */
  readonly session: Session | undefined;
}

export interface RouteDef {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly path: string;
  /**
   * public: anyone; session: a logged-in session (API: 401 without; pages: redirect to /login).
   * Every session route whose method is not GET also needs the session's CSRF token.
   */
  readonly access: 'public' | 'session';
  /** 'api' answers errors as JSON; 'page' as redirects and HTML. */
  readonly kind: 'api' | 'page';
  readonly handler: (ctx: HandlerContext) => Promise<WebReply> | WebReply;
}

export type RouteMatch =
  | { readonly found: true; readonly route: RouteDef; readonly params: string[] }
  | { readonly found: false; readonly allowed: readonly string[]; readonly badEncoding: boolean };

export class Router {
  private readonly routes: { def: RouteDef; segments: string[] }[] = [];

  constructor(defs: readonly RouteDef[]) {
    for (const def of defs) this.routes.push({ def, segments: def.path.split('/').slice(1) });
  }

  match(method: string, path: string): RouteMatch {
    const parts = path.split('/').slice(1);
    const allowed: string[] = [];
    let badEncoding = false;
    for (const { def, segments } of this.routes) {
      if (segments.length !== parts.length) continue;
      const params: string[] = [];
      let ok = true;
      for (let i = 0; i < segments.length && ok; i++) {
        const seg = segments[i] as string;
        const part = parts[i] as string;
        if (seg.startsWith(':')) {
          if (part === '') ok = false;
          else {
            try {
              params.push(decodeURIComponent(part));
            } catch {
              badEncoding = true;
              ok = false;
            }
          }
        } else if (seg !== part) ok = false;
      }
      if (!ok) continue;
      if (def.method === method) return { found: true, route: def, params };
      allowed.push(def.method);
    }
    return { found: false, allowed, badEncoding };
  }
}
