// A daemon of the built CLI (`lars dns|reporter|agent|web`) as a child process: its output
// collected, waits on what it prints (woken by each chunk, never polling on a timer).
import { spawn, type ChildProcess } from 'node:child_process';
import { cliPath } from './cli.js';
import { Waiters } from './waiters.js';

export interface DaemonProcess {
  readonly child: ChildProcess;
  /** stdout and stderr, interleaved as received, with "[exit CODE]" once it exited. */
  output(): string;
  /** stderr only, where the daemon logs. */
  stderr(): string;
  readonly exited: Promise<number | null>;
  /** Resolves with the first match of `pattern` in the output; rejects if it exits first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function spawnDaemon(role: string, args: readonly string[], env: NodeJS.ProcessEnv): DaemonProcess {
  const child = spawn(process.execPath, [cliPath, role, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const waiters = new Waiters();
  let text = '';
  let errText = '';
  let done = false;
  child.stdout!.on('data', (d: Buffer) => {
    text += d.toString();
    waiters.wake();
  });
  child.stderr!.on('data', (d: Buffer) => {
    text += d.toString();
    errText += d.toString();
    waiters.wake();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      text += `[exit ${code}]`;
      done = true;
      waiters.wake();
      resolve(code);
    }),
  );
  return {
    child,
    output: () => text,
    stderr: () => errText,
    exited,
    async waitFor(pattern, timeoutMs = 20_000) {
      await waiters.waitFor(() => pattern.test(text) || done, `${pattern} from lars ${role}`, timeoutMs).catch((err: Error) => {
        throw new Error(`${err.message}; output:\n${text}`);
      });
      const m = text.match(pattern);
      if (m === null) throw new Error(`lars ${role} exited before printing ${pattern}:\n${text}`);
      return m;
    },
    stop(signal = 'SIGTERM') {
      if (!done) child.kill(signal);
      return exited;
    },
  };
}
