import { daemonCommand } from '../daemon.js';
import { startWeb } from '../../web/start-web.js';

export const webCommand = daemonCommand(
  'web',
  'The web admin: edit routes and module descriptions, see the change log and the live call status of every node (docs/web.md).\n' +
    'Log in with [web] user / password (LARS_WEB_USER, LARS_WEB_PASSWORD); on 127.0.0.1 without a password one is generated and printed.',
  startWeb,
);
