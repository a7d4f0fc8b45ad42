import { startDns } from '../../dns/start-dns.js';
import { daemonCommand } from '../daemon.js';

export const dnsCommand = daemonCommand(
  'dns',
  'The DNS service: serves routes to agents over TCP and pushes every change to the agents subscribed to it.',
  startDns,
);
