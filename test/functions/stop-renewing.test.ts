import {strict as assert} from 'node:assert';
import {configureLocking, Lock, LockKind, peek} from '../../shared';
import {delay, uniqueId} from '../support/ids';
import {STRONG_TARGETS} from '../support/strong-targets';
import {warmUp} from '../support/warm-up';

for (const target of STRONG_TARGETS)
  describe(`Lock#stopRenewing: ${target.name}`, () => {
    beforeEach(async () => {
      configureLocking(target.config());
      await warmUp(LockKind.STRONG);
    });
    after(() => configureLocking());

    it('stops background renewal without releasing: the lock stays held until its lease runs out, then a plain acquire takes it', async () => {
      const identifier = uniqueId('stop-renewing');
      const held = await Lock.acquire(identifier, {
        leaseMs: 300,
        autoRenew: true,
      });
      assert.ok(held);
      await delay(700);
      assert.equal(
        await Lock.acquire(identifier, {wait: false}),
        null,
        'renewed past two leases',
      );
      held.stopRenewing();
      assert.equal(
        (await peek(identifier))?.holderId,
        held.holderId,
        'not released',
      );
      let taken: Lock | null = null;
      for (
        const until = Date.now() + 5000;
        !taken && Date.now() < until;
        await delay(50)
      )
        taken = await Lock.acquire(identifier, {wait: false});
      assert.ok(taken, 'the lease ran out by itself');
      assert.equal(await held.release(), false);
      await taken.release();
    });
  });
