import {strict as assert} from 'node:assert';
import {clientEnvironment} from '../../infra/local/client-environment';
import {readyMessage, READY_PREFIX} from '../../infra/local/ready-message';
import {STRONG_STORES} from '../../shared/configuration/strong-store';
import {exportedVariables} from '../support/ready-exports';

const EMULATORS = {
  GOOGLE_CLOUD_PROJECT: 'local-project',
  DATASTORE_EMULATOR_HOST: '127.0.0.1:8081',
  FIRESTORE_EMULATOR_HOST: '127.0.0.1:8080',
  PUBSUB_EMULATOR_HOST: '127.0.0.1:8085',
};

function message(
  env: Record<string, string>,
  strongStore = env.LOCKS_STRONG_STORE,
) {
  return readyMessage({
    baseUrl: 'http://127.0.0.1:5001',
    env,
    strongStore: strongStore as 'datastore' | 'firestore',
    workTopic: 'projects/local-project/topics/work',
    cleanup: 'every 30 s',
    startedInMs: 1234,
  });
}

/** `npm start`'s ready message: its `export` line sends a client to the store the functions use. */
describe("npm start's ready message", () => {
  for (const store of STRONG_STORES) {
    it(`--strong-store ${store}: the export line names LOCKS_STRONG_STORE=${store} and every emulator`, () => {
      const text = message(clientEnvironment(EMULATORS, store, {}));
      assert.ok(text.startsWith(READY_PREFIX));
      assert.deepEqual(exportedVariables(text), {
        ...EMULATORS,
        LOCKS_STRONG_STORE: store,
      });
      assert.match(
        text.split('\n')[0] ?? '',
        new RegExp(`LOCKS_STRONG_STORE=${store}`),
      );
    });
  }

  it("passes on the stack's database and cleanup settings, which the CLI must share to see the same locks", () => {
    const text = message(
      clientEnvironment(EMULATORS, 'firestore', {
        LOCKS_FIRESTORE_DATABASE: 'locks-db',
        LOCKS_CLEANUP_MAX_AGE_MS: '60000',
        LOCKS_DATASTORE_DATABASE: '',
        LOCKS_API_TOKEN: 'secret',
      }),
    );
    const exported = exportedVariables(text);
    assert.equal(exported.LOCKS_FIRESTORE_DATABASE, 'locks-db');
    assert.equal(exported.LOCKS_CLEANUP_MAX_AGE_MS, '60000');
    assert.equal(exported.LOCKS_DATASTORE_DATABASE, undefined, 'empty: unset');
    assert.equal(
      exported.LOCKS_API_TOKEN,
      undefined,
      'a secret is not printed',
    );
  });

  it('quotes a value a shell would split', () => {
    const text = message(
      clientEnvironment({MEMCACHE_SERVERS: "a b'c"}, 'datastore', {}),
      'datastore',
    );
    assert.match(
      text,
      /export MEMCACHE_SERVERS='a b'\\''c' LOCKS_STRONG_STORE=datastore/,
    );
    assert.equal(exportedVariables(text).MEMCACHE_SERVERS, "a b'c");
  });
});
