// Assembles the web admin from its config: the login (configured, or generated on loopback),
// the store, the call-status monitor, the API and pages, and the uWebSockets.js server.
import type { WebConfig } from '../config/types.js';
import { createLogger } from '../log.js';
import type { RunningRole } from '../running-role.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/store.js';
import { apiRoutes } from './api.js';
import { Credentials, resolveLogin } from './credentials.js';
import { LoginLimiter, type LoginLimiterOptions } from './login-limiter.js';
import { pageRoutes } from './pages.js';
import { SessionStore, type SessionStoreOptions } from './session-store.js';
import { loadStaticFiles } from './static-files.js';
import { StatusMonitor } from './status-monitor.js';
import { WebServer } from './web-server.js';

const log = createLogger('web');

export interface RunningWeb extends RunningRole {
  readonly port: number;
  readonly user: string;
  /** Set only when no password was configured and one was generated (loopback only). */
  readonly generatedPassword: string | undefined;
  readonly store: Store;
  readonly monitor: StatusMonitor;
}

export interface StartWebOptions {
  /** How often call status is polled (default 1000 ms). */
  readonly statusIntervalMs?: number;
  /** How long the charts' history is kept in memory (default 10 minutes). */
  readonly statusHistoryMs?: number;
  readonly sessions?: SessionStoreOptions;
  readonly loginLimit?: LoginLimiterOptions;
  /** Where a generated password is announced (default stderr). */
  readonly announce?: (line: string) => void;
}

export async function startWeb(config: WebConfig, options: StartWebOptions = {}): Promise<RunningWeb> {
  // Refuses a non-loopback address without a configured login before anything is opened.
  const login = resolveLogin(config.web);
  const credentials = await Credentials.create(login.user, login.password);
  const staticFiles = loadStaticFiles();
  const store = await openStore(config.store);
  const monitor = new StatusMonitor({
    store,
    alarms: {
      defaults: { errorRatio: config.web.alarmErrorRatio, overloadedShare: config.web.alarmOverloadedShare },
      maxReportAgeSec: config.web.alarmReportMaxAgeMs / 1000,
    },
    intervalMs: options.statusIntervalMs,
    historyMs: options.statusHistoryMs,
  });
  const sessions = new SessionStore(options.sessions);
  const limiter = new LoginLimiter(options.loginLimit);
  let storeUp = true;
  monitor.onUpdate((u) => {
    storeUp = u.storeUp;
  });
  const server = new WebServer({
    ip: config.web.ip,
    port: config.web.port,
    routes: [...apiRoutes({ store, credentials, sessions, limiter, monitor }), ...pageRoutes()],
    sessions,
    monitor,
    staticFiles,
    health: () => ({ ok: storeUp, storeUp, sessions: sessions.size }),
  });
  let port: number;
  try {
    port = await server.listen();
  } catch (err) {
    await store.close();
    throw err;
  }
  monitor.start();
  if (login.generated) {
    const line = `web admin: user ${login.user}, password ${login.password} (set LARS_WEB_PASSWORD to choose one)`;
    // At warn, so that a quieter [log] level still shows how to log in.
    (options.announce ?? ((l: string) => log.warn(l)))(line);
  }
  const url = `http://${config.web.ip}:${port}`;
  return {
    port,
    user: login.user,
    generatedPassword: login.generated ? login.password : undefined,
    store,
    monitor,
    listening: [`web admin listening on ${url} (log in as ${login.user}), store ${store.description}`],
    async stop() {
      await monitor.stop();
      await server.close();
      await store.close();
      log.debug('web admin stopped');
    },
  };
}
