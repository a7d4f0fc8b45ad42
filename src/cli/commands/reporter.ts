import { startReporter } from '../../report/start-reporter.js';
import { daemonCommand } from '../daemon.js';

export const reporterCommand = daemonCommand(
  'reporter',
  'The Report service: receives per-node call results from agents and stores the latest per node and caller.',
  startReporter,
);
