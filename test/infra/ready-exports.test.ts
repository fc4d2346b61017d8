import {strict as assert} from 'node:assert';
import {clientEnvironment} from '../../infra/local/client-environment';
import {readyMessage} from '../../infra/local/ready-message';
import {configureLocking, Lock} from '../../shared';
import {STRONG_STORES} from '../../shared/configuration/strong-store';
import {runCliProcess} from '../support/cli-process';
import {DATASTORE_TARGETS} from '../support/datastore-targets';
import {
  firestoreNativeClient,
  firestoreNativeHost,
} from '../support/firestore-native-target';
import {TEST_PROJECT} from '../support/global-setup';
import {uniqueId} from '../support/ids';
import {exportedVariables} from '../support/ready-exports';

// The stack's own Datastore-mode emulator is the Firestore one; the CLI reads either the same way.
const datastore = DATASTORE_TARGETS[1]!;

/** Issue 25: the CLI, run with exactly what `npm start`'s ready message exports, sees the functions' locks. */
describe("the CLI with npm start's printed exports", function () {
  this.timeout(60_000);
  after(() => configureLocking());

  for (const store of STRONG_STORES) {
    it(`--strong-store ${store}: list shows a lock the stack holds`, async () => {
      configureLocking(
        store === 'firestore'
          ? {firestore: firestoreNativeClient()}
          : {datastore: datastore.client()},
      );
      const emulators = {
        GOOGLE_CLOUD_PROJECT: TEST_PROJECT,
        DATASTORE_EMULATOR_HOST: datastore.host(),
        FIRESTORE_EMULATOR_HOST: firestoreNativeHost(),
      };
      const exported = exportedVariables(
        readyMessage({
          baseUrl: 'http://127.0.0.1:1',
          env: clientEnvironment(emulators, store, {}),
          strongStore: store,
          workTopic: 'projects/p/topics/t',
          cleanup: 'never',
          startedInMs: 0,
        }),
      );
      const id = uniqueId(`ready-${store}`);
      const held = await Lock.acquire(id);
      assert.ok(held);
      try {
        const list = ['list', '--prefix', id, '--json'];
        const run = await runCliProcess(list, exported);
        assert.equal(run.code, 0, run.stderr);
        const listed = JSON.parse(run.stdout) as {identifier: string}[];
        assert.deepEqual(
          listed.map(lock => lock.identifier),
          [id],
        );
        // The control: without the store the export line now names, the CLI looks elsewhere (the bug).
        const {LOCKS_STRONG_STORE: _store, ...without} = exported;
        const blind = await runCliProcess(list, {
          ...without,
          LOCKS_STRONG_STORE: store === 'firestore' ? 'datastore' : 'firestore',
        });
        assert.equal(blind.code, 0, blind.stderr);
        assert.deepEqual(JSON.parse(blind.stdout), []);
      } finally {
        await held.release();
      }
    });
  }
});
