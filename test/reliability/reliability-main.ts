/**
 * `npm run reliability` (run from the repository root, as npm does; the report goes there): the long runs of issue 7 (soak, crashes, outages, bad input, bursts) against
 * real emulators, memcached and Functions Framework servers on 127.0.0.1. Writes RELIABILITY.md and
 * exits non-zero when a scenario lost something or let someone in. Bounded: each scenario has a size
 * and a time budget sized for a 2-core machine (the whole run in about 10 minutes at most).
 * `--help` prints the usage (reliability-options.ts).
 */
import {join} from 'node:path';
import {startEmulator} from '../../infra/emulators';
import {startMemcached} from '../../infra/memcached';
import type {RunningService} from '../../infra/processes';
import {commandLineOrUsage} from '../support/main-command-line';
import {CITED_TESTS} from './cited-tests';
import {matches, parseReliabilityArgs} from './reliability-options';
import {runScenario, writeReport, type ScenarioResult} from './report';
import {SCENARIOS, type Services} from './scenarios';

const PROJECT = 'reliability-project';

async function main(only: readonly string[]): Promise<number> {
  const started = Date.now();
  const running: RunningService[] = [];
  const results: ScenarioResult[] = [];
  try {
    const [legacy, firestore, memcached, pubsub] = await Promise.all([
      startEmulator('datastore-legacy'),
      startEmulator('datastore-firestore'),
      startMemcached(),
      startEmulator('pubsub'),
    ]);
    running.push(legacy, firestore, memcached, pubsub);
    Object.assign(process.env, {
      METADATA_SERVER_DETECTION: 'none',
      GOOGLE_CLOUD_PROJECT: PROJECT,
      PUBSUB_EMULATOR_HOST: pubsub.host,
    });
    const services: Services = {
      project: PROJECT,
      legacy,
      firestore,
      memcached,
      pubsub,
    };
    for (const scenario of SCENARIOS) {
      if (only.length > 0 && !only.some(word => matches(scenario.name, word)))
        continue;
      results.push(
        await runScenario(scenario.name, () => scenario.run(services)),
      );
    }
  } finally {
    await Promise.all(running.map(service => service.stop()));
  }
  // A partial run (names given on the command line) is for development: it does not overwrite the report.
  if (only.length === 0)
    writeReport(
      join(process.cwd(), 'RELIABILITY.md'),
      results,
      CITED_TESTS,
      Date.now() - started,
    );
  console.log(
    `[reliability] done in ${((Date.now() - started) / 1000).toFixed(1)} s${only.length === 0 ? '; wrote RELIABILITY.md' : ''}`,
  );
  return results.every(result => result.passed) ? 0 : 1;
}

// `--help` (or a word naming no scenario) is answered before any emulator starts.
const commandLine = commandLineOrUsage('reliability', () =>
  parseReliabilityArgs(
    process.argv.slice(2),
    SCENARIOS.map(scenario => scenario.name),
  ),
);
if (commandLine)
  main(commandLine.args).then(
    code => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
