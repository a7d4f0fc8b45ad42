// What every role's start function returns to the `lars` daemon commands (src/cli/daemon.ts).
// It lives here, beside the roles, because a role must not import from src/cli.

/** A started role: what to print, and how to stop it. */
export interface RunningRole {
  /** Lines such as "DNS service listening on 0.0.0.0:7778 (native)". */
  readonly listening: readonly string[];
  /** Longest stop() may take by design (e.g. draining held rows); unset: the daemon's default. */
  readonly stopDeadlineMs?: number;
  /** Flushes what it holds and closes its listeners. */
  stop(): Promise<void>;
}
