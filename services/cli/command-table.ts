import type { Command } from 'commander';

/** What a command's module adds to it: options, help text, subcommands, the action. */
type Configure = (cmd: Command) => void;

/**
 * A top-level command as `ferry --help` lists it. Its module, with everything it imports (the
 * HTTP client, zod, the table and progress drawing), is loaded only when the command runs, so
 * `ferry --version` and `ferry --help` start in a few tens of milliseconds.
 */
interface CommandEntry {
  name: string;
  /** Its arguments, as commander takes them, each with what it is when the help says so. */
  args?: readonly (string | readonly [string, string])[];
  description: string;
  load: () => Promise<Configure>;
}

const callRef = ['<ref>', 'the call: its id, or its callNum'] as const;

const cluster = () => import('./commands/cluster.js');
const catalog = () => import('./commands/catalog.js');
const calls = () => import('./commands/calls.js');
const actions = () => import('./commands/call-actions.js');
const runs = () => import('./commands/runs.js');
const keys = () => import('./commands/keys.js');

const COMMANDS: readonly CommandEntry[] = [
  { name: 'up', description: 'start a local one-node cluster in the foreground (the same as `npm start`; Ctrl-C stops it)', load: async () => (await cluster()).upCommand },
  { name: 'status', description: 'is the cluster up: the api, db, registry, nodes and their drivers', load: async () => (await cluster()).statusCommand },
  { name: 'nodes', description: 'worker nodes: capacity, running calls, warm containers, heartbeat age', load: async () => (await cluster()).nodesCommand },
  { name: 'runtime', description: 'manage runtimes (container images and how to run code in them)', load: async () => (await catalog()).runtimeCommands },
  { name: 'fn', description: 'manage functions and their versions', load: async () => (await catalog()).functionCommands },
  {
    name: 'invoke',
    args: ['<fn>'],
    description: 'call a function (`name` or `name@version`): prints the result, exit 1 if the call fails',
    load: async () => (await import('./commands/invoke.js')).invokeCommand,
  },
  { name: 'calls', description: 'list calls, newest first', load: async () => (await calls()).callsCommand },
  { name: 'call', args: ['<ref>'], description: 'show one call (its id or callNum); with --follow, watch it until it ends', load: async () => (await calls()).callCommand },
  {
    name: 'wait',
    args: ['<ref>'],
    description: 'wait until a call ends, following its events; print its result, exit 0 if it is DONE, 1 otherwise',
    load: async () => (await calls()).waitCommand,
  },
  {
    name: 'dispatch',
    args: [callRef],
    description: 'run a HELD call (one invoked with --hold): it goes PENDING, then runs; exit 1 if it is not HELD',
    load: async () => (await actions()).callAction('dispatch'),
  },
  {
    name: 'retry',
    args: [callRef],
    description: 'run a call that ended failed again: it goes PENDING and a new execution runs; exit 1 if it is DONE or has not ended',
    load: async () => (await actions()).callAction('retry'),
  },
  {
    name: 'cancel',
    args: [callRef],
    description: 'stop a call: a HELD or PENDING one ends CANCELLED, a RUNNING one KILLED (its container is stopped); exit 1 if it has ended',
    load: async () => (await actions()).callAction('cancel'),
  },
  {
    name: 'dead-letters',
    description: 'list calls that ended failed with their attempts used up, newest first; --retry runs them again',
    load: async () => (await import('./commands/dead-letters.js')).deadLettersCommand,
  },
  {
    name: 'run',
    args: ['<fn>'],
    description: 'run a function (`name` or `name@version`) N times as one run: prints the run id; with --follow, waits for the end (exit 1 unless COMPLETE)',
    load: async () => (await runs()).runCommand,
  },
  { name: 'runs', description: 'list runs, newest first', load: async () => (await runs()).runsCommand },
  { name: 'run-show', args: ['<id>'], description: 'one run: its status, counts and times; --details lists its calls', load: async () => (await runs()).runShowCommand },
  {
    name: 'session',
    description: 'sessions: calls appended held, started and killed together, results read page by page',
    load: async () => (await import('./commands/sessions.js')).sessionCommands,
  },
  {
    name: 'batch',
    description: 'batch jobs (burst-compute): a range cut into batches, one worker call each, then one combiner call',
    load: async () => (await import('./commands/batches.js')).batchCommands,
  },
  {
    name: 'logs',
    args: ['<ref>'],
    description: "print a call's ctx.log lines, stdout and stderr; with --follow, as they happen",
    load: async () => (await import('./commands/logs.js')).logsCommand,
  },
  {
    name: 'login',
    description: "check an API key against the cluster and keep it for this cluster's URL (a file under your config folder, mode 0600)",
    load: async () => (await keys()).loginCommand,
  },
  { name: 'whoami', description: 'the API key this CLI sends: its id, name and role', load: async () => (await keys()).whoamiCommand },
  { name: 'keys', description: 'manage API keys (admin)', load: async () => (await keys()).keysCommands },
  {
    name: 'node',
    description: "CurveZMQ keys: this host's daemon keys and the allowlist of client keys from other hosts (run on the servers' host)",
    load: async () => (await import('./commands/node-keys.js')).nodeKeyCommands,
  },
  {
    name: 'completion',
    args: ['[shell]'],
    description: 'print a shell completion script (bash or zsh)',
    load: async () => (await import('./commands/completion.js')).completionCommand,
  },
  { name: 'help', args: ['[command]'], description: 'display help for command', load: async () => helpCommand },
];

const entries = new WeakMap<Command, CommandEntry>();
const loaded = new WeakSet<Command>();

/** Adds every command to `program` as its name, arguments and description; each is made whole by {@link loadCommand}. */
export function addCommands(program: Command): void {
  for (const entry of COMMANDS) {
    const cmd = program.command(entry.name).description(entry.description);
    for (const arg of entry.args ?? []) {
      if (typeof arg === 'string') cmd.argument(arg);
      else cmd.argument(arg[0], arg[1]);
    }
    entries.set(cmd, entry);
  }
  // Commander's own `help <command>` would show the thin command: ours loads it first.
  program.helpCommand(false);
  program.hook('preSubcommand', (_program, cmd) => loadCommand(cmd));
}

/** Makes `cmd` whole: its module adds its options, help, subcommands and action (once). */
export async function loadCommand(cmd: Command): Promise<void> {
  const entry = entries.get(cmd);
  if (entry === undefined || loaded.has(cmd)) return;
  loaded.add(cmd);
  (await entry.load())(cmd);
}

/** Makes every command of `program` whole (for completion, which lists every option). */
export async function loadEveryCommand(program: Command): Promise<void> {
  await Promise.all(program.commands.map(loadCommand));
}

/** `ferry help [command]`: a command's whole help, or the list of commands. */
function helpCommand(cmd: Command): void {
  cmd.action(async (name: string | undefined) => {
    const program: Command = cmd.parent!;
    const target = name === undefined ? undefined : program.commands.find((c) => c.name() === name);
    if (target === undefined) program.help({ error: name !== undefined });
    await loadCommand(target);
    target.help();
  });
}
