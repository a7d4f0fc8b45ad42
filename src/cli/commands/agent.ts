import { startAgent } from '../../agent/start-agent.js';
import { daemonCommand } from '../daemon.js';

export const agentCommand = daemonCommand(
  'agent',
  'The LoadBalance agent: answers get_host, report and get_route on three UDP ports, pulls routes from DNS and sends call statistics to the Report service.',
  (config) => startAgent(config),
  { zone: 'agent.zone' },
);
