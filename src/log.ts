// Levelled logging to stderr, one line per event, with per-key rate limiting so a flood of
// bad input produces a handful of lines and a counter, not a disk full of logs. Lines are text
// for people or, with [log] format = json, one JSON object each for a log shipper.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'text' | 'json';
/** Structured details of an event: extra keys of a JSON line, `key=value` pairs in text. */
export type LogFields = Readonly<Record<string, string | number | boolean>>;

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function parseLevel(value: string | undefined): LogLevel {
  return value !== undefined && value in LEVELS ? (value as LogLevel) : 'info';
}

// The environment counts before the config is loaded, so that even a config error is written
// in the format asked for.
let threshold = LEVELS[parseLevel(process.env.LARS_LOG_LEVEL)];
let format: LogFormat = process.env.LARS_LOG_FORMAT === 'json' ? 'json' : 'text';
/** The daemon this process runs, for JSON lines; unset, a line names its component only. */
let processRole: string | undefined;

export function setLogLevel(level: LogLevel): void {
  threshold = LEVELS[level];
}

/** Applies a daemon's [log] settings to every logger of the process. */
export function configureLogging(opts: { readonly level: LogLevel; readonly format: LogFormat; readonly role: string }): void {
  setLogLevel(opts.level);
  format = opts.format;
  processRole = opts.role;
}

/** The format lines are written in now, and the daemon's role once configureLogging() named it. */
export function logSettings(): { readonly format: LogFormat; readonly role: string | undefined } {
  return { format, role: processRole };
}

/** One log line, without its newline. */
export function formatLogLine(f: LogFormat, time: number, level: LogLevel, role: string, component: string, msg: string, fields?: LogFields): string {
  const iso = new Date(time).toISOString();
  if (f === 'json') {
    // Fields come after the fixed keys and cannot replace them.
    return JSON.stringify({ ...fields, time: iso, level, role, component, msg });
  }
  const extra = fields === undefined ? '' : Object.entries(fields).map(([k, v]) => ` ${k}=${typeof v === 'string' && /[\s"=]/.test(v) ? JSON.stringify(v) : String(v)}`).join('');
  return `${iso} ${level.toUpperCase().padEnd(5)} [${component}] ${msg}${extra}`;
}

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** Logs at most `perMinute` lines for `key` each minute; says how many were suppressed. */
  limited(level: LogLevel, key: string, msg: string, perMinute?: number): void;
}

interface Window {
  start: number;
  count: number;
  suppressed: number;
}

export function createLogger(component: string, now: () => number = Date.now): Logger {
  const windows = new Map<string, Window>();
  const write = (level: LogLevel, msg: string, fields?: LogFields): void => {
    if (LEVELS[level] < threshold) return;
    process.stderr.write(`${formatLogLine(format, now(), level, processRole ?? component, component, msg, fields)}\n`);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    limited(level, key, msg, perMinute = 5) {
      const t = now();
      let w = windows.get(key);
      if (w === undefined || t - w.start >= 60_000) {
        if (w !== undefined && w.suppressed > 0) write(level, `${key}: ${w.suppressed} similar messages suppressed`, { key, suppressed: w.suppressed });
        w = { start: t, count: 0, suppressed: 0 };
        windows.set(key, w);
      }
      if (w.count < perMinute) {
        w.count++;
        write(level, msg);
      } else {
        w.suppressed++;
      }
    },
  };
}
