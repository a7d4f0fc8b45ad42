// `lars up`: one machine's whole Lars in one process tree — the store's schema (and demo routes
// with --demo), then each daemon as a child process with the same config flags. Ctrl-C stops
// them all.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { configFlagOptions, configFlagsUsage, configOptionsFromFlags, loadConfig } from '../../config/index.js';
import { createLogger } from '../../log.js';
import { openStore } from '../../store/index.js';
import { parseCommandArgs, type Command } from '../command.js';

const log = createLogger('up');

/** The daemons this build runs, in start order. */
const ROLES = ['dns', 'reporter', 'agent', 'web'] as const;

const USAGE = `usage: lars up [--demo] [-c FILE] [--set section.key=VALUE ...]

Creates the schema if needed, then runs ${ROLES.join(', ')} as child processes.

  --demo                     load demo routes when the store has none
${configFlagsUsage}`;

const TRY_NEXT = `
Lars is up. Try:
  ./lars route ls                          # the routes the DNS service serves
  ./lars route add 1 1 127.0.0.1 9004      # an edit: new version, pushed to subscribed agents
  ./lars test gethost 1 1                  # ask the agent (UDP 8888-8890) for a node of module 1/1
  curl -s http://127.0.0.1:9778/metrics    # DNS service metrics (9779: Report service, 9888: agent)
  open http://127.0.0.1:8080               # the web admin (its login is printed above unless LARS_WEB_PASSWORD is set)
Stop with Ctrl-C.`;

export const upCommand: Command = {
  async run(args) {
    const { values } = parseCommandArgs(USAGE, args, { ...configFlagOptions, demo: { type: 'boolean' } });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const children = new Map<string, ChildProcess>();
    let stopping = false;
    // Every daemon runs in a process group of its own (`detached`), so a terminal's Ctrl-C reaches
    // only `up`, which passes each SIGINT/SIGTERM it gets on to every daemon exactly once. Were the
    // daemons in up's group, they would get the terminal's SIGINT directly, and anything `up` sent
    // as well would be a second signal (a third would force them out mid-stop). A daemon that
    // loses `up` without a signal stops when its IPC channel closes (daemon.ts).
    const forward = (signal: NodeJS.Signals): void => {
      stopping = true;
      for (const child of children.values()) child.kill(signal);
    };
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);

    const config = loadConfig('cli', configOptionsFromFlags(values, { warn: (m) => log.warn(m) }));
    const store = await openStore(config.store);
    try {
      await store.init();
      if (values.demo && (await store.listRoutes()).length === 0) {
        const seeded = await store.seedDemo();
        log.info(`loaded demo routes (version ${seeded.version})`);
      }
      log.info(`store: ${store.description}`);
    } finally {
      await store.close();
    }
    if (stopping) return 0;

    const main = fileURLToPath(new URL('../main.js', import.meta.url));
    const passOn = [...(values.config !== undefined ? ['-c', values.config] : []), ...(values.set ?? []).flatMap((s) => ['--set', s])];
    let failed = false;
    return new Promise<number>((resolve) => {
      let ready = 0;
      for (const role of ROLES) {
        const child = fork(main, [role, ...passOn], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached: true });
        children.set(role, child);
        child.on('message', (msg: { ready?: string }) => {
          if (msg.ready !== undefined && ++ready === ROLES.length) console.log(TRY_NEXT);
        });
        child.on('exit', (code, signal) => {
          children.delete(role);
          const how = signal ?? `code ${code}`;
          if (!stopping) {
            failed = true;
            log.error(`${role} exited (${how}); stopping the others`);
            forward('SIGTERM');
          } else if (code !== 0) {
            // A forced or failed stop: `up` as a whole did not stop cleanly either.
            failed = true;
            log.error(`${role} did not stop cleanly (${how})`);
          }
          if (children.size === 0) resolve(failed ? 1 : 0);
        });
      }
    });
  },
};
