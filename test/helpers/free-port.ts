// Ports that were free a moment ago, for daemons whose port must be known before they start
// (the admin endpoint, where 0 means "disabled"; the agent's three consecutive UDP ports).
import { createSocket, type Socket } from 'node:dgram';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export function bindUdp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(port, '127.0.0.1', () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}

export const closeUdp = (s: Socket): Promise<void> => new Promise((resolve) => s.close(() => resolve()));

/**
 * `count` UDP sockets bound on consecutive loopback ports: the first on a port the kernel picks,
 * the others on the ports after it; tried again elsewhere while one of those is taken.
 */
export async function bindConsecutiveUdp(count = 3, attempts = 200): Promise<Socket[]> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const first = await bindUdp(0);
    const base = first.address().port;
    const sockets = [first];
    try {
      if (base + count - 1 > 65535) throw new Error('no room above');
      for (let i = 1; i < count; i++) sockets.push(await bindUdp(base + i));
      return sockets;
    } catch {
      await Promise.all(sockets.map(closeUdp));
    }
  }
  throw new Error(`found no ${count} free consecutive UDP ports in ${attempts} attempts`);
}

/** A base port whose next two are free too, released for a daemon to bind (a small race; callers retry). */
export async function freeConsecutiveUdpBase(count = 3): Promise<number> {
  const sockets = await bindConsecutiveUdp(count);
  const base = sockets[0]!.address().port;
  await Promise.all(sockets.map(closeUdp));
  return base;
}
