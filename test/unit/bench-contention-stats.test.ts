import {strict as assert} from 'node:assert';
import {summariseGrants, utilisationCeiling} from '../bench/contention-stats';

describe("the bench's contention arithmetic", () => {
  it('orders grants, measures hand-offs from the release call and the share of work in the span', () => {
    // Two workers' lists, out of order: 0-10 work, 12-22, 30-40.
    const summary = summariseGrants([
      {grantedAt: 1030, releasedAt: 1040},
      {grantedAt: 1000, releasedAt: 1010},
      {grantedAt: 1012, releasedAt: 1022},
    ]);
    assert.equal(summary.grants, 3);
    assert.deepEqual(summary.handoffsMs, [2, 8]);
    assert.equal(summary.spanMs, 40);
    assert.equal(summary.workMs, 30);
    assert.equal(summary.utilisation, 0.75);
    assert.equal(summary.workMedianMs, 10);
    assert.equal(summary.handoffMedianMs, 2);
    assert.equal(summary.handoffP95Ms, 8);
  });

  it('has no hand-off with one grant, and no span with none', () => {
    const one = summariseGrants([{grantedAt: 5, releasedAt: 9}]);
    assert.deepEqual(one.handoffsMs, []);
    assert.equal(one.utilisation, 1);
    assert.ok(Number.isNaN(one.handoffMedianMs));
    assert.ok(Number.isNaN(summariseGrants([]).utilisation));
  });

  it('caps utilisation by the hand-off floor', () => {
    assert.equal(utilisationCeiling(5, 0), 1);
    assert.equal(utilisationCeiling(6, 2), 0.75);
  });
});
