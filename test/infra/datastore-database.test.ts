import {strict as assert} from 'node:assert';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {
  databaseStateFrom,
  readDatabaseState,
} from '../../infra/deploy/datastore-database';
import {parseDeployArgs} from '../../infra/deploy/deploy-options';

/** How the deploy reads `gcloud firestore databases describe`: a database is "missing" only when gcloud says NOT_FOUND. */
describe("infra: deploy, reading the functions' database", () => {
  it('reads the type and location of an existing database', () => {
    assert.deepEqual(
      databaseStateFrom(0, 'DATASTORE_MODE\teurope-west1\n', ''),
      {type: 'DATASTORE_MODE', locationId: 'europe-west1'},
    );
    assert.deepEqual(databaseStateFrom(0, 'FIRESTORE_NATIVE\tnam5\n', ''), {
      type: 'FIRESTORE_NATIVE',
      locationId: 'nam5',
    });
  });

  it('NOT_FOUND means missing', () => {
    const stderr =
      "ERROR: (gcloud.firestore.databases.describe) NOT_FOUND: Project 'my-project' or database 'locks' does not exist.\n";
    assert.equal(databaseStateFrom(1, '', stderr), undefined);
  });

  it('any other failure is an error, never "missing" (which would create a database)', () => {
    assert.throws(
      () =>
        databaseStateFrom(
          1,
          '',
          'ERROR: (gcloud.firestore.databases.describe) PERMISSION_DENIED: ...',
        ),
      /could not read the Firestore database.*PERMISSION_DENIED/,
    );
    assert.throws(
      () => databaseStateFrom(0, '\n', ''),
      /unexpected gcloud output/,
    );
  });

  it('the real gcloud without an account: the deploy stops with its message', async function () {
    this.timeout(60_000);
    const config = mkdtempSync(join(tmpdir(), 'gcloud-config-'));
    const saved = {
      config: process.env.CLOUDSDK_CONFIG,
      prompts: process.env.CLOUDSDK_CORE_DISABLE_PROMPTS,
    };
    process.env.CLOUDSDK_CONFIG = config;
    process.env.CLOUDSDK_CORE_DISABLE_PROMPTS = '1';
    try {
      const options = parseDeployArgs([
        '--project',
        'my-project',
        '--region',
        'europe-west1',
        '--database',
        'locks',
      ]);
      await assert.rejects(
        readDatabaseState(options, process.env.GCLOUD_BINARY ?? 'gcloud'),
        /could not read the Firestore database \(gcloud exited 1\).*active account/s,
      );
    } finally {
      for (const [name, value] of [
        ['CLOUDSDK_CONFIG', saved.config],
        ['CLOUDSDK_CORE_DISABLE_PROMPTS', saved.prompts],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      rmSync(config, {recursive: true, force: true});
    }
  });
});
