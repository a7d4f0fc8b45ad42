// Levelled logging to stderr, one line per event, with per-key rate limiting so a flood of
// bad input produces a handful of lines and a counter, not a disk full of logs.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function parseLevel(value: string | undefined): LogLevel {
  return value !== undefined && value in LEVELS ? (value as LogLevel) : 'info';
}

let threshold = LEVELS[parseLevel(process.env.LARS_LOG_LEVEL)];

export function setLogLevel(level: LogLevel): void {
  threshold = LEVELS[level];
}

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
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
  const write = (level: LogLevel, msg: string): void => {
    if (LEVELS[level] < threshold) return;
    process.stderr.write(`${new Date(now()).toISOString()} ${level.toUpperCase().padEnd(5)} [${component}] ${msg}\n`);
  };
  return {
    debug: (m) => write('debug', m),
    info: (m) => write('info', m),
    warn: (m) => write('warn', m),
    error: (m) => write('error', m),
    limited(level, key, msg, perMinute = 5) {
      const t = now();
      let w = windows.get(key);
      if (w === undefined || t - w.start >= 60_000) {
        if (w !== undefined && w.suppressed > 0) write(level, `${key}: ${w.suppressed} similar messages suppressed`);
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
