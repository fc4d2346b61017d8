import {strict as assert} from 'node:assert';
import type {ChildProcess} from 'node:child_process';
import {Datastore} from '@google-cloud/datastore';
import {freePort} from '../../infra/ports';
import {
  cleanupStaleLocks,
  configureLocking,
  listLocks,
  Lock,
  LockError,
  peek,
} from '../../shared';
import {resolveLockingConfig} from '../../shared/configuration/resolve-config';
import {DATASTORE_TARGETS} from '../support/datastore-targets';
import {startFunctionServer} from '../support/function-server';
import {TEST_PROJECT} from '../support/global-setup';
import {delay, uniqueId} from '../support/ids';
import {waitForHttp} from '../support/worker-server';

const DATABASE = 'locks';

/**
 * LOCKS_DATASTORE_DATABASE: the functions keep their locks in a named Datastore-mode database.
 * Both emulators keep named databases apart on lookups (an entity written to one is not seen in
 * another), so this runs on both. The legacy emulator's queries do not: a query on one database
 * answers with every database's matches, which DatastoreRpc filters out.
 */
describe('named databases', function () {
  this.timeout(60_000);

  for (const target of DATASTORE_TARGETS) {
    describe(target.name, () => {
      let server: ChildProcess;
      let port: number;
      before(async () => {
        port = await freePort();
        server = startFunctionServer('acquireLock', port, {
          DATASTORE_EMULATOR_HOST: target.host(),
          LOCKS_DATASTORE_DATABASE: DATABASE,
        });
        await waitForHttp(port);
      });
      after(() => {
        configureLocking();
        if (server.pid) process.kill(-server.pid, 'SIGKILL');
      });

      it('a lock taken through acquireLock with LOCKS_DATASTORE_DATABASE is in that database, and not in the default one', async () => {
        const identifier = uniqueId('named-db');
        const response = await fetch(`http://127.0.0.1:${port}/`, {
          method: 'POST',
          headers: {'Content-Type': 'application/json'},
          body: JSON.stringify({identifier, wait: false}),
        });
        const body = (await response.json()) as {
          token?: string;
          fence?: string;
        };
        assert.equal(response.status, 200, JSON.stringify(body));
        const client = (databaseId?: string) =>
          new Datastore({
            projectId: TEST_PROJECT,
            apiEndpoint: target.host(),
            ...(databaseId ? {databaseId} : {}),
          });
        configureLocking({datastore: client(DATABASE)});
        assert.equal(
          (await peek(identifier))?.fence?.toString(),
          body.fence,
          'the lock is in the named database',
        );
        configureLocking({datastore: client()});
        assert.equal(
          await peek(identifier),
          null,
          'the default database has no such lock',
        );
      });

      it("cleanup and listing on the default database neither see nor trip over a named database's lapsed lock", async () => {
        const client = (databaseId?: string) =>
          new Datastore({
            projectId: TEST_PROJECT,
            apiEndpoint: target.host(),
            ...(databaseId ? {databaseId} : {}),
          });
        const prefix = uniqueId('other-db');
        try {
          configureLocking({datastore: client(DATABASE)});
          assert.ok(
            await Lock.acquire(`${prefix}-lapsed`, {leaseMs: 100, wait: false}),
          );
          await delay(200);
          configureLocking({datastore: client()});
          assert.deepEqual(
            await listLocks({prefix}),
            [],
            'not listed in the default one',
          );
          await cleanupStaleLocks({maxAgeMs: 1});
          configureLocking({datastore: client(DATABASE)});
          assert.ok(
            await peek(`${prefix}-lapsed`),
            "the default database's cleanup left it alone",
          );
        } finally {
          configureLocking();
        }
      });
    });
  }

  describe('LockingConfig.databaseId', () => {
    it('is the database of the client the library builds', async () => {
      const saved = process.env.DATASTORE_EMULATOR_HOST;
      const host = DATASTORE_TARGETS[0]?.host() as string;
      process.env.DATASTORE_EMULATOR_HOST = host;
      const identifier = uniqueId('built-client');
      try {
        configureLocking({databaseId: DATABASE});
        assert.ok(await Lock.acquire(identifier, {wait: false}));
        configureLocking({
          datastore: new Datastore({
            projectId: TEST_PROJECT,
            apiEndpoint: host,
            databaseId: DATABASE,
          }),
        });
        assert.notEqual(
          await peek(identifier),
          null,
          'the lock is in the named database',
        );
        configureLocking({
          datastore: new Datastore({
            projectId: TEST_PROJECT,
            apiEndpoint: host,
          }),
        });
        assert.equal(
          await peek(identifier),
          null,
          'the default database has no such lock',
        );
      } finally {
        if (saved === undefined) delete process.env.DATASTORE_EMULATOR_HOST;
        else process.env.DATASTORE_EMULATOR_HOST = saved;
        configureLocking();
      }
    });

    for (const [what, config] of [
      ['an id with capitals', {databaseId: 'Locks'}],
      ['a number', {databaseId: 7}],
      ['an id too short', {databaseId: 'abc'}],
      [
        'an id and a client of your own',
        {
          databaseId: DATABASE,
          datastore: new Datastore({projectId: TEST_PROJECT}),
        },
      ],
    ] as const) {
      it(`refuses ${what} with INVALID_ARGUMENT`, () => {
        assert.throws(
          () => resolveLockingConfig(config as never),
          (error: unknown) =>
            error instanceof LockError &&
            error.code === 'INVALID_ARGUMENT' &&
            /databaseId/.test(error.message),
        );
      });
    }
  });
});
