import { Command, CommanderError } from 'commander';
import { CliError, Exit } from './cli-error.js';
import { DEFAULT_URL } from './cluster-url.js';
import { addCommands } from './command-table.js';

/** `ferry`: the command-line client of a Ferry cluster, over its HTTP API. */
const program = new Command('ferry')
  .description('Ferry: functions as a service. Deploy code, invoke it, read the call store.')
  .version('0.1.0')
  .option('--url <url>', `the cluster's HTTP address (env FERRY_URL, default ${DEFAULT_URL})`)
  .option('--json', 'machine-readable output')
  .option('--token <key>', 'the API key to send (env FERRY_TOKEN; else the one `ferry login` saved for the URL, else a local cluster\'s data/admin.key)')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride()
  .addHelpText(
    'after',
    `
Examples:
  ferry up                                                  # a local one-node cluster
  ferry runtime add pythonruntime --deps "pip3 install -r requirements.txt" --run "python3 test.py"
  ferry fn deploy runtimes/python/dice --name dice --runtime pythonruntime
  ferry invoke dice -p roll=4d6
  ferry calls --fn dice
  ferry call 1 --follow
  ferry logs 1
  ferry fn deploy ./etl --name etl --runtime pythonruntime --retries 3 --backoff 1s --stuck-after 5m
  ferry invoke etl --hold                                   # prints the id; ferry dispatch <id> runs it
  ferry dead-letters --fn etl --retry
  ferry login --token fry_…                                 # keep a key for this cluster
  ferry keys create --role invoker --name ci                # prints the new key once`,
  );

// Each command made later inherits exitOverride and showHelpAfterError from the program.
addCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and version print and exit 0; everything else commander refuses is a usage error.
    process.exit(err.exitCode === 0 ? Exit.OK : Exit.USAGE);
  }
  if (err instanceof CliError) {
    process.stderr.write(`ferry: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  process.stderr.write(`ferry: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(Exit.FAILED);
}
