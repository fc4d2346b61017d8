import {strict as assert} from 'node:assert';
import {join} from 'node:path';
import {configureLocking, Lock, peek} from '../../shared';
import {startNodeChild} from '../reliability/child-process';
import {uniqueId} from '../support/ids';
import {EVERY_STORE} from '../support/every-store';

/**
 * Long against the deadline, so the test can pause the instance after its renewals stopped and
 * well before its lease ends: the pause, not the timer, must be what carries it past the lease.
 * The deadline falls between two renewals (every 500 ms), so no renewal is open when the pause
 * comes: a renewal transaction paused on the Firestore-mode emulator would block the next grant.
 */
const LEASE_MS = 1500;
const DEADLINE_MS = 650;

interface Line {
  readonly event: 'running' | 'check' | 'aborted' | 'done';
  readonly at: number;
  readonly aborted?: boolean;
  readonly pastDeadline?: boolean;
  readonly expiresAt?: number;
  readonly outcome?: string;
  readonly code?: string;
}
const where =
  (test: (line: Line) => boolean) =>
  (line: unknown): line is Line =>
    test(line as Line);

/**
 * The first fault: an instance whose invocation timed out keeps running its handler
 * (Cloud Run does not stop it). Renewal stops at the deadline; the instance is then paused
 * (SIGSTOP) past its lease, another instance is granted the lock, and the first resumes in the
 * middle of a store read. Its next look at the signal must say aborted: nothing renews the lease,
 * and the I/O callback may well run before any overdue timer.
 */
describe('a lockedHandler held past its deadline and paused past its lease (SIGSTOP, then SIGCONT)', function () {
  this.timeout(60_000);
  afterEach(() => configureLocking());

  for (const target of EVERY_STORE) {
    it(`${target.name}: every look at the signal after another holder's grant sees it aborted LOCK_LOST, and the invocation rejects LOCK_LOST`, async () => {
      configureLocking(target.config());
      const identifier = uniqueId('overrun');
      const instance = startNodeChild(
        join(__dirname, '../support/overrun-handler.js'),
        [],
        {
          ...process.env,
          TARGET: target.name,
          IDENTIFIER: identifier,
          LEASE_MS: String(LEASE_MS),
          DEADLINE_MS: String(DEADLINE_MS),
        },
      );
      try {
        const running = await instance.lineWhere(
          where(line => line.event === 'running'),
          30_000,
        );
        // Past the deadline, and the renewal before it answered.
        const pastDeadline = await instance.lineWhere(
          where(
            line =>
              line.event === 'check' &&
              line.pastDeadline === true &&
              (line.expiresAt as number) > (running.expiresAt as number),
          ),
          30_000,
        );
        instance.kill('SIGSTOP');
        const stoppedAt = Date.now();
        assert.equal(
          pastDeadline.aborted,
          false,
          'the lease was still live when renewals stopped',
        );
        assert.ok(
          (pastDeadline.expiresAt as number) > stoppedAt,
          `paused before its lease ended (${(pastDeadline.expiresAt as number) - stoppedAt} ms before): the pause carries it past`,
        );

        const next = await Lock.acquire(identifier, {
          kind: target.kind,
          waitForMs: LEASE_MS * 10,
        });
        assert.ok(next, 'another instance is granted the lock');
        const grantedAt = Date.now();
        const linesBefore = instance.lines.length;
        instance.kill('SIGCONT');

        const done = await instance.lineWhere(
          where(line => line.event === 'done'),
          30_000,
        );
        const after = (instance.lines.slice(linesBefore) as Line[]).filter(
          line => line.event === 'check',
        );
        assert.ok(after.length >= 1, 'the handler looked at its signal again');
        assert.deepEqual(
          after.map(line => line.aborted),
          after.map(() => true),
          `every look after the other grant (${grantedAt}) saw the signal aborted: ${JSON.stringify(after)}`,
        );
        const aborted = (instance.lines as Line[]).find(
          line => line.event === 'aborted',
        );
        assert.equal(aborted?.code, 'LOCK_LOST');
        assert.equal(done.outcome, 'rejected');
        assert.equal(done.code, 'LOCK_LOST');
        assert.equal(await instance.exited, 0, instance.stderr());
        assert.equal(
          (await peek(identifier, {kind: target.kind}))?.holderId,
          next.holderId,
          "the late instance's release left the new holder's lock alone",
        );
        assert.equal(await next.release(), true);
      } finally {
        instance.kill('SIGKILL');
      }
    });
  }
});
