// What every daemon command shares: parse -c/--set, build the frozen config, start the role,
// print where it listens, and stop cleanly on SIGINT/SIGTERM.
import { configFlagOptions, configFlagsUsage, configOptionsFromFlags, loadConfig } from '../config/index.js';
import type { Role, RoleConfigs } from '../config/types.js';
import { createLogger, setLogLevel } from '../log.js';
import { parseCommandArgs, type Command } from './command.js';

/** A started role: what to print, and how to stop it. */
export interface RunningRole {
  /** Lines such as "DNS service listening on 0.0.0.0:7778 (native)". */
  readonly listening: readonly string[];
  /** Flushes what it holds and closes its listeners. */
  stop(): Promise<void>;
  /** How long stop() may take by the role's own config (the wrapper waits at least this long). */
  readonly stopDeadlineMs?: number;
}

/** Longest a clean stop may take before the process exits anyway. */
const STOP_DEADLINE_MS = 5_000;

export function daemonCommand<R extends Exclude<Role, 'cli'>>(
  role: R,
  summary: string,
  start: (config: RoleConfigs[R]) => Promise<RunningRole>,
): Command {
  const usage = `usage: lars ${role} [-c FILE] [--set section.key=VALUE ...]\n\n${summary}\n\n${configFlagsUsage}`;
  return {
    async run(args) {
      const { values } = parseCommandArgs(usage, args, configFlagOptions);
      if (values.help) {
        console.log(usage);
        return 0;
      }
      const log = createLogger(role);
      const config = loadConfig(role, configOptionsFromFlags(values, { warn: (m) => log.warn(m) }));
      setLogLevel(config.logLevel);
      const running = await start(config);
      for (const line of running.listening) log.info(line);
      // Under `lars up` the parent waits for this before it prints what to try next.
      process.send?.({ ready: role, listening: running.listening });
      await new Promise<void>((resolve) => {
        const onSignal = (signal: NodeJS.Signals): void => {
          log.info(`${signal}: stopping`);
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          setTimeout(() => {
            log.error(`did not stop within ${STOP_DEADLINE_MS} ms; exiting`);
            process.exit(1);
          }, STOP_DEADLINE_MS).unref();
          running.stop().then(resolve, (err: unknown) => {
            log.error(`error while stopping: ${String(err)}`);
            resolve();
          });
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      });
      log.info('stopped');
      return 0;
    },
  };
}
