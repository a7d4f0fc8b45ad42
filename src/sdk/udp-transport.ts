// The SDK's one UDP socket to the agent's three ports: sends frames, hands every datagram from
// one of those ports to the client, counts what it drops, and closes once the sends handed to
// it are out (so a report() just before close() still leaves).
//
// The socket resolves an IPv4 literal itself, synchronously: dgram otherwise runs dns.lookup and
// a tick for every datagram, even for 127.0.0.1. It is unref'd: a forgotten client must not keep
// the process alive (waiting requests do, through the client's timer wheel). One event loop.
import { createSocket, type Socket } from 'node:dgram';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { isIPv4 } from 'node:net';
import { AGENT_PORT_COUNT } from '../wire/agent-ports.js';

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

function literalFirstLookup(hostname: string, options: LookupOneOptions | number, callback: LookupCallback): void {
  if (isIPv4(hostname)) callback(null, hostname, 4);
  else dnsLookup(hostname, options as LookupOneOptions, callback);
}

export class UdpTransport {
  readonly host: string;
  readonly basePort: number;
  readonly #socket: Socket;
  #sent = 0;
  #sendErrors = 0;
  #unexpected = 0;
  /** Sends handed to the socket whose callback has not run yet. */
  #inFlight = 0;
  #drained: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  /** onDatagram gets every datagram from the agent's ports base..base + 2, valid only during the call. */
  constructor(host: string, basePort: number, onDatagram: (datagram: Buffer) => void) {
    this.host = host;
    this.basePort = basePort;
    this.#socket = createSocket({ type: 'udp4', lookup: literalFirstLookup });
    this.#socket.on('message', (datagram, from) => {
      if (from.port < basePort || from.port >= basePort + AGENT_PORT_COUNT) this.#unexpected++;
      else onDatagram(datagram);
    });
    // Errors of single sends arrive at their callbacks; anything else must not crash the process.
    this.#socket.on('error', () => {
      this.#sendErrors++;
    });
    this.#socket.unref();
  }

  /** Datagrams handed to the socket. */
  get sent(): number {
    return this.#sent;
  }

  /** Sends the socket refused (e.g. no route to the agent's host), and socket errors. */
  get sendErrors(): number {
    return this.#sendErrors;
  }

  /** Datagrams from a port other than the agent's three: dropped. */
  get unexpected(): number {
    return this.#unexpected;
  }

  /** Sends frame to the agent's port; onError runs if the socket refuses it. The frame must not change afterwards. */
  send(frame: Buffer, port: number, onError?: () => void): void {
    this.#sent++;
    this.#inFlight++;
    this.#socket.send(frame, port, this.host, (err) => {
      if (--this.#inFlight === 0) this.#drained?.();
      if (err === null || err === undefined) return;
      this.#sendErrors++;
      onError?.();
    });
  }

  /** Closes the socket once every send handed to it is out. Idempotent. */
  close(): Promise<void> {
    if (this.#closing === undefined) {
      const drained = this.#inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => (this.#drained = resolve));
      this.#closing = drained.then(() => new Promise<void>((resolve) => this.#socket.close(() => resolve())));
    }
    return this.#closing;
  }
}
