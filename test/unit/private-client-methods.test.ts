import {strict as assert} from 'node:assert';
import {Datastore} from '@google-cloud/datastore';
import {Firestore} from '@google-cloud/firestore';
import memjs from 'memjs';

/**
 * Three clients are used through a method they do not document, each confined to one file (named
 * below) because the public API cannot do what a lock needs. An update that removes or reshapes one
 * would otherwise show up as a silent fallback (Firestore's re-sending commit) or a crash at the
 * first lock: this fails first, naming the file to revisit. Nothing here connects anywhere.
 */
describe('the clients\u2019 undocumented methods the stores rely on', () => {
  it("Firestore: WriteBatch._commit({retryCodes}) sends the batch with the caller's retry codes (shared/stores/firestore/firestore-calls.ts)", () => {
    const batch = new Firestore({projectId: 'p'}).batch() as unknown as {
      _commit?: unknown;
    };
    assert.equal(
      typeof batch._commit,
      'function',
      'WriteBatch._commit is gone',
    );
    const source = String(batch._commit);
    assert.match(
      source,
      /^async _commit\(commitOptions\)/,
      'WriteBatch._commit takes one options object',
    );
    assert.match(
      source,
      /commitOptions\?\.retryCodes/,
      'WriteBatch._commit no longer passes commitOptions.retryCodes to its request',
    );
  });

  it('Datastore: clients_, the map of generated clients a Datastore object shares its channel through (shared/stores/datastore/datastore-rpc.ts)', () => {
    const datastore = new Datastore({projectId: 'p'}) as unknown as {
      clients_?: unknown;
    };
    assert.ok(
      datastore.clients_ instanceof Map,
      'Datastore.clients_ is not a Map',
    );
  });

  it('memjs: perform(key, request, seq, callback, retries), incrSeq() and seq (shared/stores/memcached/memcache-ops.ts)', () => {
    const client = memjs.Client.create('127.0.0.1:1') as unknown as {
      perform?: unknown;
      incrSeq?: unknown;
      seq?: unknown;
    };
    assert.equal(typeof client.perform, 'function', 'Client.perform is gone');
    assert.equal(
      (client.perform as (...args: unknown[]) => unknown).length,
      5,
      'Client.perform no longer takes (key, request, seq, callback, retries)',
    );
    assert.equal(typeof client.incrSeq, 'function', 'Client.incrSeq is gone');
    const before = client.seq;
    assert.equal(typeof before, 'number', 'Client.seq is not a number');
    (client.incrSeq as () => void)();
    assert.notEqual(client.seq, before, 'incrSeq() does not move seq');
  });
});
