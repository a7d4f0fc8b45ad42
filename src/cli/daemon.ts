// What every daemon command shares: parse -c/--set, build the frozen config, start the role,
// print where it listens, and stop cleanly on SIGINT/SIGTERM.
import { constants } from 'node:os';
import { configFlagOptions, configFlagsUsage, configOptionsFromFlags, loadConfig } from '../config/index.js';
import { KEYS_BY_ID } from '../config/keys.js';
import type { Role, RoleConfigs } from '../config/types.js';
import { configureLogging, createLogger, type Logger } from '../log.js';
import type { RunningRole } from '../running-role.js';
import { parseCommandArgs, type Command } from './command.js';

/** Longest a clean stop may take before the process exits anyway, for a role that does not say. */
const DEFAULT_STOP_DEADLINE_MS = 5_000;
/** Added to a role's own stop deadline, so that its own bound (and log line) comes first. */
const STOP_DEADLINE_MARGIN_MS = 2_000;

/** How long the process lets `running` stop before it exits anyway. */
export function forcedExitAfterMs(running: Pick<RunningRole, 'stopDeadlineMs'>): number {
  return running.stopDeadlineMs === undefined ? DEFAULT_STOP_DEADLINE_MS : running.stopDeadlineMs + STOP_DEADLINE_MARGIN_MS;
}

/**
 * Takes SIGINT and SIGTERM over for the rest of the process's life; resolves on the first one.
 * Installed before the role starts: the native threads serve as soon as they exist, so a
 * supervisor may signal before "listening" is printed, and the default action would kill the
 * process mid-start. A second signal must not cut a stop short (a supervisor or a process group
 * may well send two); a third is an operator insisting, and exits at once.
 */
function stopRequested(log: Logger, isStarted: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    let received = 0;
    const request = (why: string): void => {
      if (++received === 1) {
        log.info(`${why}: stopping${isStarted() ? '' : ' once started'}`);
        resolve();
      }
    };
    const onSignal = (signal: NodeJS.Signals): void => {
      if (received === 0) request(signal);
      else if (++received === 2) log.warn(`${signal}: stop already in progress; send it again to force the exit`);
      else {
        log.error(`${signal}: forced exit before the stop completed`);
        // 128 + signal number: how a shell reports a process ended by that signal.
        process.exit(128 + constants.signals[signal]);
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    // Under `lars up` each daemon has a process group of its own (see up.ts): if `up` dies
    // without passing a signal on, its closed IPC channel is the only notice the daemon gets.
    if (process.channel !== undefined) {
      process.once('disconnect', () => request('parent process gone'));
      // That listener would keep the process alive for the channel's sake after the role stopped.
      process.channel.unref();
    }
  });
}

/**
 * A daemon's subcommand. `keyFlags` names flags that stand for one config key each (`zone` →
 * `agent.zone`): `--zone az1` is `--set agent.zone=az1`, given after every --set so that it wins.
 */
export function daemonCommand<R extends Exclude<Role, 'cli'>>(
  role: R,
  summary: string,
  start: (config: RoleConfigs[R]) => Promise<RunningRole>,
  keyFlags: Readonly<Record<string, string>> = {},
): Command {
  const flagLines = Object.entries(keyFlags).map(([flag, id]) => {
    const spec = KEYS_BY_ID.get(id);
    if (spec === undefined) throw new Error(`--${flag} stands for an unknown config key ${id}`);
    return `      --${`${flag} VALUE`.padEnd(21)}[${spec.section}] ${spec.key}: ${spec.doc}`;
  });
  const flagUsage = Object.keys(keyFlags).map((flag) => ` [--${flag} VALUE]`).join('');
  const usage = `usage: lars ${role}${flagUsage} [-c FILE] [--set section.key=VALUE ...]\n\n${summary}\n\n${[...flagLines, configFlagsUsage].join('\n')}`;
  const flagOptions = Object.fromEntries(Object.keys(keyFlags).map((flag) => [flag, { type: 'string' as const }]));
  return {
    async run(args) {
      const { values } = parseCommandArgs(usage, args, { ...configFlagOptions, ...flagOptions });
      if (values.help) {
        console.log(usage);
        return 0;
      }
      const given = values as Record<string, unknown>;
      const set = [
        ...(values.set ?? []),
        ...Object.entries(keyFlags).flatMap(([flag, id]) => (typeof given[flag] === 'string' ? [`${id}=${given[flag] as string}`] : [])),
      ];
      const log = createLogger(role);
      let running: RunningRole | undefined;
      const stop = stopRequested(log, () => running !== undefined);
      const config = loadConfig(role, configOptionsFromFlags({ config: values.config, set }, { warn: (m) => log.warn(m) }));
      configureLogging({ level: config.logLevel, format: config.logFormat, role });
      running = await start(config);
      for (const line of running.listening) log.info(line);
      // Under `lars up` the parent waits for this before it prints what to try next.
      process.send?.({ ready: role, listening: running.listening });
      await stop;
      const deadlineMs = forcedExitAfterMs(running);
      setTimeout(() => {
        log.error(`did not stop within ${deadlineMs} ms; exiting`);
        process.exit(1);
      }, deadlineMs).unref();
      try {
        await running.stop();
      } catch (err) {
        log.error(`error while stopping: ${String(err)}`);
      }
      log.info('stopped');
      return 0;
    },
  };
}
