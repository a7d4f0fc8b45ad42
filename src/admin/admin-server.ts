// Each daemon's HTTP side door: /metrics (Prometheus text) and /healthz (JSON).
// Plain node:http: it serves a scrape every few seconds, not traffic.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { AdminConfig } from '../config/types.js';
import { LarsError } from '../errors.js';

export interface Health {
  /** false makes /healthz answer 503. */
  readonly ok: boolean;
  readonly [detail: string]: unknown;
}

export interface AdminServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startAdminServer(opts: {
  ip: string;
  port: number;
  registry: Registry;
  health: () => Health;
}): Promise<AdminServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
    } else if (path === '/metrics') {
      opts.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': opts.registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err)),
      );
    } else if (path === '/healthz') {
      const health = opts.health();
      res.writeHead(health.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(health));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('try /metrics or /healthz\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException): void => {
      reject(
        new LarsError('ERR_LISTEN', `cannot serve /metrics on ${opts.ip}:${opts.port} ([admin] port): ${err.code ?? err.message}; choose a free port, or 0 for no metrics endpoint`, {
          cause: err,
        }),
      );
    };
    server.once('error', failed);
    server.listen(opts.port, opts.ip, () => {
      server.off('error', failed);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The admin endpoint, or none when its port is 0 ([admin] port = 0 disables it). */
/** A daemon's endpoint as its [admin] section says: none when the port is 0. */
export async function maybeStartAdminServer(config: AdminConfig, registry: Registry, health: () => Health): Promise<AdminServer | undefined> {
  return config.port === 0 ? undefined : startAdminServer({ ip: config.ip, port: config.port, registry, health });
}

/** The daemon's startup line about its metrics endpoint. */
export function adminListeningLine(config: AdminConfig, admin: AdminServer | undefined): string {
  return admin ? `metrics on http://${config.ip}:${admin.port}/metrics` : 'metrics endpoint disabled ([admin] port = 0)';
}
