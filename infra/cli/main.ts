#!/usr/bin/env node
/**
 * `npx cloud-functions-locking <command>`: operators' view of the locks (see `--help`, and
 * docs/operating.md, "The CLI"). Thin: parsing, configuration and output live beside it in infra/cli.
 */
import {runCli} from './run-cli';

// Away from Google Cloud, with no credentials, Google's auth library probes the metadata server
// and warns that it is not there; the CLI says what is missing in its own line (exit 3). Every
// other warning is printed as Node prints it.
process.removeAllListeners('warning');
process.on('warning', warning => {
  if (warning.name !== 'MetadataLookupWarning')
    process.stderr.write(
      `(node:${process.pid}) ${warning.name}: ${warning.message}\n`,
    );
});

void runCli(process.argv.slice(2), {
  out: text => process.stdout.write(`${text}\n`),
  err: text => process.stderr.write(`cloud-functions-locking: ${text}\n`),
  isTerminal: process.stdout.isTTY === true,
  env: process.env,
}).then(code => {
  // Clients keep sockets open; the answer is complete, so leave now (once stdout has drained).
  process.stdout.write('', () => process.exit(code));
});
