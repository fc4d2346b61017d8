#!/usr/bin/env node
/**
 * `npx cloud-functions-locking <command>`: operators' view of the locks (see `--help`, and the
 * README's "Operating it"). Thin: parsing, configuration and output live beside it in infra/cli.
 */
import {runCli} from './run-cli';

void runCli(process.argv.slice(2), {
  out: text => process.stdout.write(`${text}\n`),
  err: text => process.stderr.write(`cloud-functions-locking: ${text}\n`),
  isTerminal: process.stdout.isTTY === true,
  env: process.env,
}).then(code => {
  // Clients keep sockets open; the answer is complete, so leave now (once stdout has drained).
  process.stdout.write('', () => process.exit(code));
});
