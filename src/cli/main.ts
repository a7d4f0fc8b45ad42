#!/usr/bin/env node
// `lars`: one executable, one subcommand per role or tool (docs/spec/ROLES.md).
import { LarsError } from '../errors.js';
import { createLogger, logSettings } from '../log.js';
import type { Command } from './command.js';

// Loaded lazily so that `lars route ls` does not pay for the daemons' modules.
const commands: Record<string, { summary: string; load: () => Promise<Command> }> = {
  db: { summary: 'create the schema (db init) or load demo routes (db seed)', load: async () => (await import('./commands/db.js')).dbCommand },
  route: { summary: 'add, change, remove and list route nodes (route add|set|rm|ls)', load: async () => (await import('./commands/route.js')).routeCommand },
  policy: { summary: "set, show and remove a module's scheduling policy (policy set|show|rm)", load: async () => (await import('./commands/policy.js')).policyCommand },
  dns: { summary: 'run the DNS service (routes to agents, pushes on change)', load: async () => (await import('./commands/dns.js')).dnsCommand },
  reporter: { summary: 'run the Report service (stores call statistics)', load: async () => (await import('./commands/reporter.js')).reporterCommand },
  agent: { summary: 'run the LoadBalance agent (get_host/report/get_route over UDP)', load: async () => (await import('./commands/agent.js')).agentCommand },
  web: { summary: 'run the web admin (routes, modules, history, live call status)', load: async () => (await import('./commands/web.js')).webCommand },
  up: { summary: 'run every role of a single machine in one process tree', load: async () => (await import('./commands/up.js')).upCommand },
  register: { summary: 'keep a node registered with the agent while running (a sidecar; SIGTERM deregisters)', load: async () => (await import('./commands/register.js')).registerCommand },
  test: { summary: 'API tools against the agent: gethost, getroute, report, simulator, qps', load: async () => (await import('./commands/test.js')).testCommand },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: lars <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun "lars <command> --help" for the options of a command.`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const entry = commands[name];
  if (entry === undefined) {
    console.error(`lars: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  return (await entry.load()).run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // A daemon logging JSON reports even its fatal error as one JSON line.
    if (logSettings().format === 'json') {
      createLogger('lars').error(err instanceof Error ? err.message : String(err), err instanceof LarsError ? { code: err.code } : undefined);
      process.exitCode = err instanceof LarsError && err.code === 'ERR_USAGE' ? 2 : 1;
    } else if (err instanceof LarsError) {
      console.error(`lars: ${err.message}`);
      process.exitCode = err.code === 'ERR_USAGE' ? 2 : 1;
    } else {
      console.error(err);
      process.exitCode = 1;
    }
  },
);
