import {strict as assert} from 'node:assert';
import {
  backoffCeilingMs,
  DEFAULT_RETRY_POLICY,
  DEFAULT_WAIT_BACKOFF,
  fullJitterDelayMs,
} from '../../shared/core/backoff';

describe('backoff', () => {
  it('the wait ceiling starts at 20 ms and doubles to a cap of 250 ms', () => {
    const ceilings = Array.from({length: 7}, (_, step) =>
      backoffCeilingMs(DEFAULT_WAIT_BACKOFF, step),
    );
    assert.deepEqual(ceilings, [20, 40, 80, 160, 250, 250, 250]);
  });

  it('the retry ceiling starts at 50 ms and doubles to a cap of 500 ms', () => {
    const ceilings = Array.from({length: 5}, (_, step) =>
      backoffCeilingMs(DEFAULT_RETRY_POLICY, step),
    );
    assert.deepEqual(ceilings, [50, 100, 200, 400, 500]);
  });

  it('full jitter draws uniformly between 0 and the ceiling', () => {
    assert.equal(
      fullJitterDelayMs(DEFAULT_WAIT_BACKOFF, 2, () => 0),
      0,
    );
    assert.equal(
      fullJitterDelayMs(DEFAULT_WAIT_BACKOFF, 2, () => 0.5),
      40,
    );
    assert.equal(
      fullJitterDelayMs(DEFAULT_WAIT_BACKOFF, 2, () => 0.999),
      79.92,
    );
  });
});
