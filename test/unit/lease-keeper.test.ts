import {strict as assert} from 'node:assert';
import {spawnSync} from 'node:child_process';
import {join} from 'node:path';
import sinon from 'sinon';
import {
  intervalOf,
  LeaseKeeper,
  type LeaseKeeperTarget,
} from '../../shared/core/lease-keeper';

/** The background renewal schedule, under fake timers. */
describe('LeaseKeeper (fake timers)', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({
      now: 1_000_000,
      toFake: ['setTimeout', 'clearTimeout', 'Date'],
    });
  });
  afterEach(() => sinon.restore());

  function target(leaseMs: number, answers: (() => Promise<boolean>)[]) {
    const renewals: number[] = [];
    const lost: string[] = [];
    let confirmedAt = Date.now();
    const t: LeaseKeeperTarget = {
      leaseMs,
      renew: async () => {
        renewals.push(Date.now() - 1_000_000);
        const answer = answers.shift() ?? (async () => true);
        const renewed = await answer();
        if (renewed) confirmedAt = Date.now();
        return renewed;
      },
      lastConfirmedAt: () => confirmedAt,
      lost: reason => lost.push(reason),
    };
    return {t, renewals, lost};
  }

  it('renews every third of the lease while renewals succeed', async () => {
    const {t, renewals, lost} = target(300, []);
    const keeper = new LeaseKeeper(t);
    await clock.tickAsync(1_000);
    keeper.stop();
    assert.deepEqual(
      renewals,
      [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000],
    );
    assert.deepEqual(lost, []);
  });

  it('a failing renewal is retried sooner; when none succeeds for a whole lease, the lock is lost once and renewals stop', async () => {
    const fail = async () => {
      throw new Error('store unavailable');
    };
    const {t, renewals, lost} = target(
      300,
      Array.from({length: 20}, () => fail),
    );
    new LeaseKeeper(t);
    await clock.tickAsync(2_000);
    assert.equal(lost.length, 1);
    assert.match(
      lost[0] as string,
      /renewals kept failing until the 300 ms lease ran out/,
    );
    assert.ok(
      (renewals.at(-1) as number) >= 300,
      'it kept trying up to the end of the lease',
    );
    assert.ok(
      (renewals.at(-1) as number) <= 300 + intervalOf(300),
      'and not long after',
    );
    const count = renewals.length;
    await clock.tickAsync(2_000);
    assert.equal(renewals.length, count, 'no renewal after the loss');
  });

  it('one failure between successes loses nothing', async () => {
    const fail = async () => {
      throw new Error('blip');
    };
    const {t, lost} = target(300, [async () => true, fail, async () => true]);
    const keeper = new LeaseKeeper(t);
    await clock.tickAsync(2_000);
    keeper.stop();
    assert.deepEqual(lost, []);
  });

  it('a renewal answered false stops the keeper (the lock reported its own loss)', async () => {
    const {t, renewals, lost} = target(300, [async () => false]);
    new LeaseKeeper(t);
    await clock.tickAsync(2_000);
    assert.deepEqual(renewals, [100]);
    assert.deepEqual(lost, []);
  });
});

describe('LeaseKeeper timers', () => {
  it('never keep a process alive', () => {
    const keeper = join(__dirname, '../../shared/core/lease-keeper.js');
    const script = `const { LeaseKeeper } = require(${JSON.stringify(keeper)});
new LeaseKeeper({ leaseMs: 60000, renew: async () => true, lastConfirmedAt: () => Date.now(), lost: () => {} });`;
    const started = Date.now();
    const result = spawnSync(process.execPath, ['-e', script], {
      timeout: 10_000,
    });
    assert.equal(result.status, 0, String(result.stderr));
    assert.ok(
      Date.now() - started < 10_000,
      'the process exited without waiting for the 20 s renewal',
    );
  });
});
