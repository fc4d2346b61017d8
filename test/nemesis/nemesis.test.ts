import {strict as assert} from 'node:assert';
import {checkBalances} from './handler-check';
import {runHandlerNemesis} from './handler-run';
import {NemesisNetwork} from './network';
import {runNemesis} from './run';
import {buildSchedule, FAULT_KINDS} from './schedule';

/**
 * The short, fixed-seed nemesis run of `npm test`: every fault kind at least once, overlapping,
 * against 5 workers in their own namespaces, with fences on. It needs root (namespaces, iptables)
 * and libfaketime: where they are missing it fails, it never skips. The long run and its control
 * run are `npm run nemesis` (NEMESIS.md).
 */
const SHORT = {
  seed: 14,
  durationMs: 18_000,
  workers: 5,
  leaseMs: 2000,
} as const;

describe('nemesis (short, fixed seed)', function () {
  this.timeout(120_000);

  it('the same seed gives the same schedule; a different seed another', () => {
    assert.deepEqual(buildSchedule(SHORT), buildSchedule(SHORT));
    assert.notDeepEqual(
      buildSchedule(SHORT).faults,
      buildSchedule({...SHORT, seed: SHORT.seed + 1}).faults,
    );
    assert.deepEqual(
      new Set(buildSchedule(SHORT).faults.map(fault => fault.kind)),
      new Set(FAULT_KINDS),
      'every kind of fault is scheduled',
    );
  });

  it(`seed ${SHORT.seed}: partitions, slow links, pauses past the lease, kills, a store restart and clock jumps, overlapping: no acknowledged increment lost or doubled, fences in order, every op within its bound, the lock granted again after each heal; the namespaces are gone afterwards`, async () => {
    const result = await runNemesis({...SHORT, fenced: true});
    const shown = result.check.violations.map(
      violation =>
        `${violation.rule}: ${violation.message}\n  ${violation.ops.map(op => JSON.stringify(op)).join('\n  ')}`,
    );
    assert.deepEqual(shown, [], 'no violations');
    for (const kind of FAULT_KINDS)
      assert.ok(
        result.history.faults.some(fault => fault.kind === kind),
        `a ${kind} fault was applied`,
      );
    assert.ok(
      result.check.counts.ok >= 5,
      `increments were acknowledged (${result.check.counts.ok})`,
    );
    assert.ok(
      result.check.logLength >= result.check.counts.ok,
      'the register holds every acknowledged increment',
    );
    assert.ok(
      result.check.recoveries.some(recovery => recovery.ms !== undefined),
      'recovery was judged at least once',
    );
    assert.deepEqual(
      await NemesisNetwork.leftovers(result.networkTag),
      [],
      'the run removed its namespaces, veths and bridge',
    );
  });

  it('the handler checker catches a lost update and an event applied twice', () => {
    const published = new Map([
      ['a', 5],
      ['b', 5],
      ['c', 5],
    ]);
    const check = checkBalances(
      published,
      new Map([
        ['a', 5],
        ['b', 4],
        ['c', 6],
      ]),
    );
    assert.deepEqual(
      check.violations.map(violation => [violation.rule, violation.account]),
      [
        ['lost', 'b'],
        ['doubled', 'c'],
      ],
    );
    assert.equal(checkBalances(published, published).violations.length, 0);
  });

  it(`handler workload, seed ${SHORT.seed}: the example worker on 2 instances, paused inside its handler past its deadline and lease, killed and replaced: every event counted exactly once`, async () => {
    const result = await runHandlerNemesis({
      seed: SHORT.seed,
      durationMs: 20_000,
      instances: 2,
      leaseMs: 1000,
      deadlineMs: 1500,
      fenced: true,
      // The backstop for a message parked behind a killed holder after the last event: every
      // 10 s here, sooner than a schedule of once a minute, to fit the test's time.
      cleanupEveryMs: 10_000,
    });
    assert.deepEqual(
      result.check.violations.map(violation => violation.message),
      [],
      'no violations',
    );
    assert.ok(
      result.check.events >= 20,
      `events published (${result.check.events})`,
    );
    assert.ok(
      result.faults.some(fault => fault.kind === 'pause'),
      'an instance was paused',
    );
  });
});
