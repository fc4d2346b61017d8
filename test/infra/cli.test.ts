import {strict as assert} from 'node:assert';
import {mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {configureLocking, Lock, LockKind, peek} from '../../shared';
import {runCliProcess, spawnCli} from '../support/cli-process';
import {DATASTORE_TARGETS} from '../support/datastore-targets';
import {
  firestoreNativeClient,
  firestoreNativeHost,
} from '../support/firestore-native-target';
import {TEST_PROJECT} from '../support/global-setup';
import {delay, uniqueId} from '../support/ids';
import {memcacheClient, memcacheHost} from '../support/memcache-target';

const legacy = DATASTORE_TARGETS[0]!;

/** The built CLI run as a child process against the test run's emulators and memcached. */
describe('the cloud-functions-locking CLI', function () {
  this.timeout(60_000);
  const env = () => ({
    GOOGLE_CLOUD_PROJECT: TEST_PROJECT,
    DATASTORE_EMULATOR_HOST: legacy.host(),
    MEMCACHE_SERVERS: memcacheHost(),
    METADATA_SERVER_DETECTION: 'none',
  });
  let memcache: ReturnType<typeof memcacheClient>;
  before(() => (memcache = memcacheClient()));
  beforeEach(() => configureLocking({datastore: legacy.client(), memcache}));
  after(() => {
    configureLocking();
    memcache.close();
  });

  it('list --json: identifier, age, lease left, fence and holderId of each STRONG lock, never a token; --prefix and --older-than filter', async () => {
    const prefix = uniqueId('cli-list');
    const plain = await Lock.acquire(`${prefix}/plain`);
    const leased = await Lock.acquire(`${prefix}/leased`, {leaseMs: 60_000});
    assert.ok(plain && leased);
    try {
      const run = await runCliProcess(
        ['list', '--prefix', prefix, '--json'],
        env(),
      );
      assert.equal(run.code, 0, run.stderr);
      const listed = JSON.parse(run.stdout) as Record<string, unknown>[];
      assert.deepEqual(
        listed.map(lock => lock.identifier),
        [`${prefix}/plain`, `${prefix}/leased`],
        'oldest grant first, only the prefix',
      );
      const [first, second] = listed;
      assert.equal(first?.fence, String(plain.fence));
      assert.equal(first?.holderId, plain.holderId);
      assert.equal(first?.leaseLeftMs, undefined);
      assert.ok(typeof first?.ageMs === 'number' && first.ageMs >= 0);
      assert.equal(second?.leaseMs, 60_000);
      assert.ok(
        typeof second?.leaseLeftMs === 'number' &&
          second.leaseLeftMs > 0 &&
          second.leaseLeftMs <= 60_000,
      );
      assert.ok(
        !run.stdout.includes(plain.token) && !run.stdout.includes(leased.token),
        'no token',
      );

      const table = await runCliProcess(['list', '--prefix', prefix], env());
      assert.equal(table.code, 0, table.stderr);
      assert.match(
        table.stdout,
        /IDENTIFIER\s+AGE\s+LEASE LEFT\s+FENCE\s+HOLDER/,
      );
      assert.match(
        table.stdout,
        new RegExp(
          `${prefix}/leased\\s+\\S+\\s+\\d+(\\.\\d)?s\\s+${leased.fence}\\s+${leased.holderId}`,
        ),
      );

      const older = await runCliProcess(
        ['list', '--prefix', prefix, '--older-than', '1h', '--json'],
        env(),
      );
      assert.deepEqual(JSON.parse(older.stdout), []);
    } finally {
      await plain.release();
      await leased.release();
    }
  });

  it('lists the STRONG locks of Firestore in native mode with LOCKS_STRONG_STORE=firestore', async () => {
    configureLocking({firestore: firestoreNativeClient()});
    const id = uniqueId('cli-native');
    const held = await Lock.acquire(id);
    assert.ok(held);
    try {
      const run = await runCliProcess(['list', '--prefix', id, '--json'], {
        ...env(),
        LOCKS_STRONG_STORE: 'firestore',
        FIRESTORE_EMULATOR_HOST: firestoreNativeHost(),
      });
      assert.equal(run.code, 0, run.stderr);
      const [listed] = JSON.parse(run.stdout) as Record<string, unknown>[];
      assert.equal(listed?.identifier, id);
      assert.equal(listed?.fence, String(held.fence));
    } finally {
      await held.release();
    }
  });

  it('show ID: one lock in full; a free one exits 1; --kind WEAK looks in memcached', async () => {
    const id = uniqueId('cli-show');
    const held = await Lock.acquire(id, {leaseMs: 30_000});
    const weak = await Lock.acquire(id, {kind: LockKind.WEAK});
    assert.ok(held && weak);
    try {
      const run = await runCliProcess(['show', id], env());
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`holderId\\s+${held.holderId}`));
      assert.match(run.stdout, new RegExp(`fence\\s+${held.fence}`));
      assert.match(run.stdout, /lease\s+30\.0s, \S+ left/);
      const json = JSON.parse(
        (await runCliProcess(['show', id, '--json'], env())).stdout,
      ) as Record<string, unknown>;
      assert.equal(json.holderId, held.holderId);
      const weakRun = await runCliProcess(
        ['show', id, '--kind', 'WEAK', '--json'],
        env(),
      );
      assert.equal(weakRun.code, 0, weakRun.stderr);
      const weakJson = JSON.parse(weakRun.stdout) as Record<string, unknown>;
      assert.deepEqual(
        [weakJson.kind, weakJson.holderId, weakJson.fence],
        ['WEAK', weak.holderId, undefined],
      );
      const free = await runCliProcess(['show', uniqueId('cli-free')], env());
      assert.equal(free.code, 1);
      assert.match(free.stdout, /is held/);
    } finally {
      await held.release();
      await weak.release();
    }
  });

  it('release ID refuses without --force and explains why; with --force removes the lock and logs what it removed, never the token', async () => {
    const id = uniqueId('cli-release');
    const held = await Lock.acquire(id);
    assert.ok(held);
    const refused = await runCliProcess(['release', id], env());
    assert.equal(refused.code, 2);
    assert.match(
      refused.stderr,
      /without --force: whoever holds it keeps running/,
    );
    assert.equal(refused.stderr.trim().split('\n').length, 1, 'one line');
    assert.ok(await peek(id), 'still held');

    const forced = await runCliProcess(['release', id, '--force'], env());
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(
      forced.stdout,
      new RegExp(`removed .*holder ${held.holderId}`),
    );
    const logged = JSON.parse(
      forced.stderr.trim().split('\n').pop() ?? '{}',
    ) as Record<string, unknown>;
    assert.deepEqual(
      [logged.message, logged.holderId, logged.identifier],
      ['forceRelease: removed a lock', held.holderId, id],
    );
    assert.ok(
      !forced.stdout.includes(held.token) &&
        !forced.stderr.includes(held.token),
      'no token',
    );
    assert.equal(await peek(id), null);
    assert.equal(
      await held.release(),
      false,
      'the holder finds out at its release',
    );
    assert.equal(
      (await runCliProcess(['release', id, '--force'], env())).code,
      1,
      'nothing left to remove',
    );
  });

  it('cleanup --max-age removes abandoned STRONG locks and says how many', async () => {
    const lapsed = await Lock.acquire(uniqueId('cli-cleanup'), {leaseMs: 100});
    assert.ok(lapsed);
    await delay(200);
    const run = await runCliProcess(
      ['cleanup', '--max-age', '10m', '--json'],
      env(),
    );
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as {
      deleted: number;
      maxAgeMs: number;
    };
    assert.ok(result.deleted >= 1);
    assert.equal(result.maxAgeMs, 600_000);
    assert.equal(await peek(lapsed.identifier), null);
  });

  it('watch refreshes the list until Ctrl-C (SIGINT), then exits 0', async () => {
    const prefix = uniqueId('cli-watch');
    const watcher = spawnCli(
      ['watch', '--prefix', prefix, '--json', '--interval', '300ms'],
      env(),
    );
    try {
      const seen = async (
        predicate: (locks: {identifier: string}[]) => boolean,
      ) => {
        for (
          const deadline = Date.now() + 20_000;
          Date.now() < deadline;
          await delay(50)
        ) {
          if (
            watcher.lines.some(line =>
              predicate(JSON.parse(line) as {identifier: string}[]),
            )
          )
            return true;
        }
        return false;
      };
      assert.ok(await seen(locks => locks.length === 0), 'an empty list first');
      const held = await Lock.acquire(`${prefix}/a`);
      assert.ok(
        await seen(locks =>
          locks.some(lock => lock.identifier === `${prefix}/a`),
        ),
        'the new lock appears without a restart',
      );
      await held?.release();
      watcher.child.kill('SIGINT');
      assert.equal(await watcher.exited, 0);
    } finally {
      watcher.child.kill('SIGKILL');
    }
  });

  describe('failures: one line each, with its own exit code', () => {
    const cases: {
      name: string;
      args: string[];
      env: () => Record<string, string | undefined>;
      code: number;
      says: RegExp;
    }[] = [
      {
        name: 'no project',
        args: ['list'],
        env: () => ({
          ...env(),
          GOOGLE_CLOUD_PROJECT: undefined,
          HOME: mkdtempSync(join(tmpdir(), 'cli-home-')),
          CLOUDSDK_CONFIG: mkdtempSync(join(tmpdir(), 'cli-gcloud-')),
        }),
        code: 3,
        says: /no Google Cloud project: set GOOGLE_CLOUD_PROJECT/,
      },
      {
        name: 'an unreachable emulator',
        args: ['list'],
        env: () => ({...env(), DATASTORE_EMULATOR_HOST: '127.0.0.1:1'}),
        code: 4,
        says: /cannot reach the emulator at 127\.0\.0\.1:1 \(DATASTORE_EMULATOR_HOST\)/,
      },
      {
        name: 'an unreachable memcached',
        args: ['show', 'x', '--kind', 'WEAK'],
        env: () => ({...env(), MEMCACHE_SERVERS: '127.0.0.1:1'}),
        code: 4,
        says: /cannot reach memcached at 127\.0\.0\.1:1/,
      },
      {
        name: 'an unknown command',
        args: ['lsit'],
        env,
        code: 2,
        says: /unknown command "lsit": use one of list, show, release, cleanup, watch/,
      },
      {
        name: 'an unknown option',
        args: ['list', '--frob'],
        env,
        code: 2,
        says: /Unknown option '--frob'/,
      },
      {
        name: 'a bad duration',
        args: ['list', '--older-than', 'soon'],
        env,
        code: 2,
        says: /--older-than takes a duration/,
      },
      {
        name: 'show without an identifier',
        args: ['show'],
        env,
        code: 2,
        says: /show needs the lock's identifier/,
      },
      {
        name: 'listing WEAK locks',
        args: ['list', '--kind', 'WEAK'],
        env,
        code: 2,
        says: /WEAK locks cannot be listed: memcached cannot enumerate its keys/,
      },
      {
        name: 'a bad LOCKS_STRONG_STORE',
        args: ['list'],
        env: () => ({...env(), LOCKS_STRONG_STORE: 'redis'}),
        code: 3,
        says: /LOCKS_STRONG_STORE must be one of datastore, firestore/,
      },
      {
        name: 'a bad LOCKS_CLEANUP_MAX_AGE_MS',
        args: ['cleanup'],
        env: () => ({...env(), LOCKS_CLEANUP_MAX_AGE_MS: '-1'}),
        code: 3,
        says: /LOCKS_CLEANUP_MAX_AGE_MS must be a whole number/,
      },
    ];
    for (const failure of cases) {
      it(`${failure.name}: exit ${failure.code}`, async () => {
        const run = await runCliProcess(failure.args, failure.env());
        assert.equal(run.code, failure.code, `stderr: ${run.stderr}`);
        assert.match(run.stderr, failure.says);
        assert.equal(
          run.stderr.trim().split('\n').length,
          1,
          `one line: ${run.stderr}`,
        );
      });
    }
  });
});
