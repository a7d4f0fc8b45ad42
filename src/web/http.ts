// The web admin's HTTP vocabulary: a request as handlers see it (copied out of uWebSockets.js,
// whose request object dies with the callback), a reply as handlers return it, the security
// headers every reply carries, and the JSON error shape of the API.

export interface WebRequest {
  /** Upper case: GET, POST, ... */
  readonly method: string;
  /** The URL path, without the query. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** Lower-case names. */
  readonly headers: ReadonlyMap<string, string>;
  readonly cookies: ReadonlyMap<string, string>;
  readonly remoteAddress: string;
  readonly body: Buffer;
}

export interface WebReply {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly setCookies?: readonly string[];
  readonly body?: string | Buffer;
}

export const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  303: 'See Other',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/**
 * On every reply. Scripts and styles come only from this origin (no inline code anywhere, so no
 * 'unsafe-inline'); the WebSocket is same-origin; no page may frame this one.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/** Body of every API error: a stable code, a message, and per-field messages for bad input. */
export interface ApiErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    /** Field name → what is wrong with it (validation errors only). */
    readonly fields?: Readonly<Record<string, string>>;
  };
}

export function jsonReply(status: number, value: unknown, extra: Partial<WebReply> = {}): WebReply {
  return {
    ...extra,
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...extra.headers },
    body: JSON.stringify(value),
  };
}

export function errorReply(status: number, code: string, message: string, fields?: Record<string, string>): WebReply {
  const body: ApiErrorBody = { error: fields === undefined ? { code, message } : { code, message, fields } };
  return jsonReply(status, body);
}

export function htmlReply(status: number, html: string, extra: Partial<WebReply> = {}): WebReply {
  return { ...extra, status, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...extra.headers }, body: html };
}

export function redirect(location: string, extra: Partial<WebReply> = {}): WebReply {
  return { ...extra, status: 303, headers: { location, 'cache-control': 'no-store', ...extra.headers }, body: '' };
}

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (header === undefined || header === '') return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    // The first cookie of a name wins, as browsers send the most specific path first.
    if (name !== '' && !out.has(name)) out.set(name, part.slice(eq + 1).trim());
  }
  return out;
}

/** true when the request body is declared as JSON. */
export function isJson(req: WebRequest): boolean {
  const type = req.headers.get('content-type') ?? '';
  return /^application\/json\s*(;|$)/i.test(type);
}

/**
 * The parsed JSON object of the body, or an error reply: 415 unless Content-Type is JSON (which
 * also keeps plain cross-site HTML forms out), 400 when it does not parse or is not an object.
 */
export function readJsonObject(req: WebRequest): { value: Record<string, unknown> } | { reply: WebReply } {
  if (!isJson(req)) {
    return { reply: errorReply(415, 'ERR_UNSUPPORTED_MEDIA_TYPE', 'send the body as JSON with "Content-Type: application/json"') };
  }
  let value: unknown;
  try {
    value = JSON.parse(req.body.toString('utf8'));
  } catch (err) {
    return { reply: errorReply(400, 'ERR_INVALID_INPUT', `the body is not valid JSON: ${(err as Error).message}`) };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { reply: errorReply(400, 'ERR_INVALID_INPUT', 'the body must be a JSON object') };
  }
  return { value: value as Record<string, unknown> };
}
