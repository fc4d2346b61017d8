import {strict as assert} from 'node:assert';
import {configureLocking, Lock, LockKind, peek} from '../../shared';
import type {} from '../../shared/stores/valkey';
import {runCliProcess, spawnCli} from '../support/cli-process';
import {DATASTORE_TARGETS} from '../support/datastore-targets';
import {TEST_PROJECT} from '../support/global-setup';
import {delay, uniqueId} from '../support/ids';
import {memcacheHost} from '../support/memcache-target';
import {valkeyClient, valkeyUrl} from '../support/valkey-target';

const legacy = DATASTORE_TARGETS[0]!;

/** The built CLI with LOCKS_VALKEY_URL set, against the test run's Valkey-protocol server. */
describe('the CLI on WEAK locks: Valkey lists them, memcached cannot', function () {
  this.timeout(60_000);
  const env = (weak: 'valkey' | 'memcached' = 'valkey') => ({
    GOOGLE_CLOUD_PROJECT: TEST_PROJECT,
    DATASTORE_EMULATOR_HOST: legacy.host(),
    MEMCACHE_SERVERS: memcacheHost(),
    METADATA_SERVER_DETECTION: 'none',
    ...(weak === 'valkey' ? {LOCKS_VALKEY_URL: valkeyUrl()} : {}),
  });
  beforeEach(() =>
    configureLocking({datastore: legacy.client(), valkey: valkeyClient()}),
  );
  after(() => configureLocking());

  it('list --kind WEAK: identifier, age, lease left and holderId of each WEAK lock on Valkey, never a token, no fence or queue columns', async () => {
    const prefix = uniqueId('cli-weak-list');
    const plain = await Lock.acquire(`${prefix}/plain`, {
      kind: LockKind.WEAK,
      stealAfterMs: 60_000,
    });
    const leased = await Lock.acquire(`${prefix}/leased`, {
      kind: LockKind.WEAK,
      leaseMs: 60_000,
    });
    const strong = await Lock.acquire(`${prefix}/strong`);
    assert.ok(plain && leased && strong);
    try {
      const run = await runCliProcess(
        ['list', '--kind', 'WEAK', '--prefix', prefix, '--json'],
        env(),
      );
      assert.equal(run.code, 0, run.stderr);
      const listed = JSON.parse(run.stdout) as Record<string, unknown>[];
      assert.deepEqual(
        listed.map(lock => [lock.identifier, lock.holderId]),
        [
          [`${prefix}/plain`, plain.holderId],
          [`${prefix}/leased`, leased.holderId],
        ],
        'the WEAK locks only, oldest grant first',
      );
      assert.equal(listed[0]?.leaseLeftMs, undefined);
      const left = listed[1]?.leaseLeftMs;
      assert.ok(typeof left === 'number' && left > 0 && left <= 60_000);
      assert.ok(
        !run.stdout.includes(plain.token) && !run.stdout.includes(leased.token),
        'no token',
      );

      const table = await runCliProcess(
        ['list', '--kind', 'weak', '--prefix', prefix],
        env(),
      );
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /^IDENTIFIER\s+AGE\s+LEASE LEFT\s+HOLDER\n/);
      assert.doesNotMatch(table.stdout, /FENCE|QUEUE/);
      assert.match(
        table.stdout,
        new RegExp(
          `${prefix}/leased\\s+\\S+\\s+\\d+(\\.\\d)?s\\s+${leased.holderId}`,
        ),
      );

      const strongList = await runCliProcess(
        ['list', '--prefix', prefix, '--json'],
        env(),
      );
      assert.deepEqual(
        (JSON.parse(strongList.stdout) as {identifier: string}[]).map(
          lock => lock.identifier,
        ),
        [`${prefix}/strong`],
        'STRONG stays the default',
      );
    } finally {
      await plain.release();
      await leased.release();
      await strong.release();
    }
    const empty = await runCliProcess(
      ['list', '--kind', 'WEAK', '--prefix', prefix],
      env(),
    );
    assert.equal(empty.code, 0, empty.stderr);
    assert.equal(empty.stdout.trim(), 'no WEAK locks held');
  });

  it('show and release --force --kind WEAK work on Valkey', async () => {
    const id = uniqueId('cli-weak-show');
    const held = await Lock.acquire(id, {kind: LockKind.WEAK, leaseMs: 30_000});
    assert.ok(held);
    const shown = await runCliProcess(
      ['show', id, '--kind', 'WEAK', '--json'],
      env(),
    );
    assert.equal(shown.code, 0, shown.stderr);
    const json = JSON.parse(shown.stdout) as Record<string, unknown>;
    assert.deepEqual(
      [json.kind, json.holderId, json.leaseMs],
      ['WEAK', held.holderId, 30_000],
    );
    const forced = await runCliProcess(
      ['release', id, '--kind', 'WEAK', '--force'],
      env(),
    );
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, new RegExp(`holder ${held.holderId}`));
    assert.ok(!forced.stderr.includes(held.token), 'no token');
    assert.equal(await peek(id, {kind: LockKind.WEAK}), null);
    assert.equal(await held.release(), false);
  });

  it('watch --kind WEAK shows a WEAK lock appear and go', async () => {
    const prefix = uniqueId('cli-weak-watch');
    const watcher = spawnCli(
      [
        'watch',
        '--kind',
        'WEAK',
        '--prefix',
        prefix,
        '--json',
        '--interval',
        '300ms',
      ],
      env(),
    );
    const seen = async (predicate: (locks: unknown[]) => boolean) => {
      for (
        const deadline = Date.now() + 20_000;
        Date.now() < deadline;
        await delay(50)
      )
        if (
          watcher.lines.some(line => predicate(JSON.parse(line) as unknown[]))
        )
          return true;
      return false;
    };
    try {
      const held = await Lock.acquire(`${prefix}/a`, {kind: LockKind.WEAK});
      assert.ok(held);
      assert.ok(await seen(locks => locks.length === 1), 'the lock appears');
      watcher.lines.length = 0;
      await held.release();
      assert.ok(await seen(locks => locks.length === 0), 'and goes');
      watcher.child.kill('SIGINT');
      assert.equal(await watcher.exited, 0);
    } finally {
      watcher.child.kill('SIGKILL');
    }
  });

  describe('refusals: one line each, exit 2', () => {
    const cases: {
      name: string;
      args: string[];
      weak: 'valkey' | 'memcached';
      says: RegExp;
    }[] = [
      {
        name: 'list --kind WEAK on memcached',
        args: ['list', '--kind', 'WEAK'],
        weak: 'memcached',
        says: /WEAK locks cannot be listed: memcached cannot enumerate its keys \(Valkey can: set LOCKS_VALKEY_URL\)/,
      },
      {
        name: 'watch --kind WEAK on memcached',
        args: ['watch', '--kind', 'WEAK'],
        weak: 'memcached',
        says: /cannot be watched: memcached cannot enumerate its keys/,
      },
      {
        name: 'cleanup --kind WEAK on Valkey',
        args: ['cleanup', '--kind', 'WEAK'],
        weak: 'valkey',
        says: /WEAK locks need no cleanup: Valkey expires every lock with a lease or a steal time itself/,
      },
      {
        name: 'cleanup --kind WEAK on memcached',
        args: ['cleanup', '--kind', 'WEAK'],
        weak: 'memcached',
        says: /memcached expires them itself/,
      },
    ];
    for (const refusal of cases)
      it(refusal.name, async () => {
        const run = await runCliProcess(refusal.args, env(refusal.weak));
        assert.equal(run.code, 2, `stderr: ${run.stderr}`);
        assert.match(run.stderr, refusal.says);
        assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
      });
  });

  it('an unreachable Valkey: exit 4, naming its host, never the URL with its password', async () => {
    const run = await runCliProcess(['list', '--kind', 'WEAK'], {
      ...env(),
      LOCKS_VALKEY_URL: 'redis://:sekrit@127.0.0.1:1',
    });
    assert.equal(run.code, 4, run.stderr);
    assert.match(
      run.stderr,
      /cannot reach Valkey at 127\.0\.0\.1:1 \(LOCKS_VALKEY_URL\)/,
    );
    assert.ok(!run.stderr.includes('sekrit'), run.stderr);
  });
});
