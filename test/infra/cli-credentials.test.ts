import {strict as assert} from 'node:assert';
import {mkdtempSync} from 'node:fs';
import {createServer, type AddressInfo, type Server} from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {EXIT} from '../../infra/cli/exit-codes';
import {runCliProcess} from '../support/cli-process';

/**
 * Issue 25: the CLI run with no credentials and no emulator says so in one line and exits 3
 * (configuration), for either STRONG store. HOME is an empty folder, so no gcloud ADC file is found.
 */
describe('the CLI without credentials (real processes)', function () {
  this.timeout(30_000);
  const home = mkdtempSync(join(tmpdir(), 'cli-no-credentials-'));
  const base = {HOME: home, CLOUDSDK_CONFIG: home};
  // A "metadata server" that drops every connection: Google's auth library probes it, finds
  // nothing and (an unexpected error) emits a MetadataLookupWarning, which the CLI must not print.
  let droppingServer: Server;
  let metadataHost = '';
  before(async () => {
    droppingServer = createServer(socket => socket.destroy());
    await new Promise<void>(resolve =>
      droppingServer.listen(0, '127.0.0.1', resolve),
    );
    metadataHost = `127.0.0.1:${(droppingServer.address() as AddressInfo).port}`;
  });
  after(() => droppingServer.close());

  const cases: {
    name: string;
    env: () => Record<string, string>;
    argv: string[];
    store: 'Datastore' | 'Firestore';
    variable: string;
  }[] = [
    {
      name: 'datastore, METADATA_SERVER_DETECTION=none',
      env: () => ({
        GOOGLE_CLOUD_PROJECT: 'p',
        METADATA_SERVER_DETECTION: 'none',
      }),
      argv: ['list'],
      store: 'Datastore',
      variable: 'DATASTORE_EMULATOR_HOST',
    },
    {
      name: 'firestore, METADATA_SERVER_DETECTION=none (its client crashed the process)',
      env: () => ({
        GOOGLE_CLOUD_PROJECT: 'p',
        METADATA_SERVER_DETECTION: 'none',
        LOCKS_STRONG_STORE: 'firestore',
      }),
      argv: ['show', 'report'],
      store: 'Firestore',
      variable: 'FIRESTORE_EMULATOR_HOST',
    },
    {
      name: 'no project, the metadata server probed and failing, its warning not printed',
      env: () => ({GCE_METADATA_HOST: metadataHost}),
      argv: ['cleanup'],
      store: 'Datastore',
      variable: 'DATASTORE_EMULATOR_HOST',
    },
  ];

  for (const row of cases)
    it(`${row.name}: one line naming what is missing and how to provide it, exit 3`, async () => {
      const run = await runCliProcess(row.argv, {...base, ...row.env()});
      assert.equal(run.stdout, '');
      assert.equal(
        run.stderr,
        `cloud-functions-locking: no Google Cloud credentials to reach Google's ${row.store} service: for the local stack set ${row.variable} (npm start's ready line prints it), for a project run \`gcloud auth application-default login\` (or set GOOGLE_APPLICATION_CREDENTIALS to a key file)\n`,
      );
      assert.equal(run.code, EXIT.configuration);
    });

  it('an unreadable GOOGLE_APPLICATION_CREDENTIALS is named, exit 3', async () => {
    const run = await runCliProcess(['list'], {
      ...base,
      GOOGLE_CLOUD_PROJECT: 'p',
      METADATA_SERVER_DETECTION: 'none',
      GOOGLE_APPLICATION_CREDENTIALS: join(home, 'missing-key.json'),
    });
    assert.match(
      run.stderr,
      /^cloud-functions-locking: cannot load Google Cloud credentials: The file at \S+missing-key\.json does not exist/,
    );
    assert.equal(run.stderr.split('\n').length, 2, 'one line');
    assert.equal(run.code, EXIT.configuration);
  });
});
