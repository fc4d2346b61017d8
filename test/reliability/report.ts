import {existsSync, readFileSync, writeFileSync} from 'node:fs';
import {cpus, totalmem} from 'node:os';

/** One scenario's outcome, as RELIABILITY.md shows it. Every figure comes from the run. */
export interface ScenarioResult {
  readonly scenario: string;
  /** What was run: processes, cycles, requests, messages. */
  readonly size: string;
  readonly durationMs: number;
  /** What was lost or let in; the target is nothing. */
  readonly lost: string;
  readonly passed: boolean;
  /** Further measured facts, one per line. */
  readonly details: readonly string[];
}

/** Runs one scenario and turns a thrown error into a failed result, so one failure does not hide the others. */
export async function runScenario(
  scenario: string,
  run: () => Promise<Omit<ScenarioResult, 'scenario' | 'durationMs'>>,
): Promise<ScenarioResult> {
  const started = Date.now();
  console.log(`[reliability] ${scenario}: running`);
  let result: ScenarioResult;
  try {
    result = {scenario, durationMs: Date.now() - started, ...(await run())};
    result = {...result, durationMs: Date.now() - started};
  } catch (error) {
    result = {
      scenario,
      size: 'did not finish',
      durationMs: Date.now() - started,
      lost: 'unknown: the scenario failed',
      passed: false,
      details: [
        `error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      ],
    };
  }
  console.log(
    `[reliability] ${scenario}: ${result.passed ? 'passed' : 'FAILED'} in ${result.durationMs} ms; lost: ${result.lost}`,
  );
  for (const line of result.details) console.log(`    ${line}`);
  return result;
}

/** Scenarios the normal test suite covers deterministically, cited by test name. */
export interface CitedTest {
  readonly scenario: string;
  readonly tests: readonly string[];
}

export function writeReport(
  path: string,
  results: readonly ScenarioResult[],
  cited: readonly CitedTest[],
  totalMs: number,
): void {
  const escape = (text: string) =>
    text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = [
    '# Reliability',
    '',
    'Written by `npm run reliability` (test/reliability/): faults, load and bad input against the real',
    'emulators, memcached and Functions Framework servers on 127.0.0.1. Every figure below comes from the',
    'run that wrote this file. The target for "lost" is nothing.',
    '',
    `Run: ${new Date().toISOString()}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; ` +
      `total ${(totalMs / 1000).toFixed(1)} s. Overall: ${results.every(r => r.passed) ? 'every scenario passed' : 'SOME SCENARIOS FAILED'}.`,
    '',
    '| scenario | size | duration | lost | result |',
    '| --- | --- | --- | --- | --- |',
    ...results.map(
      r =>
        `| ${escape(r.scenario)} | ${escape(r.size)} | ${(r.durationMs / 1000).toFixed(1)} s | ${escape(r.lost)} | ${r.passed ? 'passed' : '**FAILED**'} |`,
    ),
    '',
    '## Details',
    '',
    ...results.flatMap(r => [
      `### ${r.scenario}`,
      '',
      ...r.details.map(line => `- ${line}`),
      '',
    ]),
    ...keptSections(existsSync(path) ? readFileSync(path, 'utf8') : ''),
    '## Covered deterministically by `npm test`',
    '',
    'These faults are injected with sinon or by stopping a service inside the normal suite, which runs',
    'them on every build; they are not repeated here.',
    '',
    ...cited.flatMap(c => [
      `- ${c.scenario}:`,
      ...c.tests.map(test => `  - ${test}`),
    ]),
    '',
  ];
  writeFileSync(path, lines.join('\n'));
}

/** The heading prefix of a section written by hand, which a run carries over instead of dropping. */
export const KEPT_PREFIX = '## Kept: ';

/**
 * The hand-written sections of the report a run replaces (each from its `## Kept: ` heading to the
 * next `## ` heading), as lines, so that figures from elsewhere (`npm test`'s sizes) survive a run.
 */
export function keptSections(previous: string): string[] {
  const lines = previous.split('\n');
  const kept: string[] = [];
  let keeping = false;
  for (const line of lines) {
    if (line.startsWith('## ')) keeping = line.startsWith(KEPT_PREFIX);
    if (keeping) kept.push(line);
  }
  if (kept.length > 0 && kept[kept.length - 1] !== '') kept.push('');
  return kept;
}
