import {strict as assert} from 'node:assert';
import {Datastore} from '@google-cloud/datastore';
import sinon from 'sinon';
import {DatastoreLockBackend} from '../../shared/stores/datastore/datastore-backend';
import {DatastoreRpc} from '../../shared/stores/datastore/datastore-rpc';
import {isGoogleEndpoint} from '../../shared/stores/datastore/precondition-probe';

describe('the precondition probe runs only where the answer is unknown', () => {
  before(() => (process.env.METADATA_SERVER_DETECTION = 'none'));
  afterEach(() => sinon.restore());

  const backendFor = (options: ConstructorParameters<typeof Datastore>[0]) =>
    new DatastoreLockBackend(
      new DatastoreRpc(
        new Datastore({projectId: 'probe-test', ...options}),
        1000,
      ),
      {
        entityKind: 'DatastoreLock',
        namespace: undefined,
      },
    );

  for (const [host, google] of [
    ['datastore.googleapis.com', true],
    ['datastore.europe-west1.rep.googleapis.com', true],
    ['DATASTORE.GOOGLEAPIS.COM', true],
    ['127.0.0.1', false],
    ['localhost', false],
    ['notgoogleapis.com', false],
    ['googleapis.com.example.org', false],
  ] as const) {
    it(`${host} is ${google ? '' : 'not '}Google's service`, () =>
      assert.equal(isGoogleEndpoint(host), google));
  }

  it("Google's service (the default endpoint): honoured, with no write to find out", async () => {
    const commit = sinon.spy(DatastoreRpc.prototype, 'commit');
    const backend = backendFor({});
    assert.equal(backend.rpc.endpoint(), 'datastore.googleapis.com');
    backend.preconditions.probeSoon();
    assert.equal(await backend.preconditions.honoured(), true);
    assert.equal(commit.callCount, 0);
  });

  it('an emulator endpoint is probed (here unreachable: no verdict, so releases stay careful)', async () => {
    const commit = sinon
      .stub(DatastoreRpc.prototype, 'commit')
      .rejects(Object.assign(new Error('14 UNAVAILABLE'), {code: 14}));
    const backend = backendFor({apiEndpoint: '127.0.0.1:9'});
    assert.equal(backend.rpc.endpoint(), '127.0.0.1');
    assert.equal(await backend.preconditions.honoured(), false);
    assert.ok(commit.callCount >= 1, 'the probe tried to write');
  });
});
