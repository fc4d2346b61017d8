import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { CloudSchedulerClient } from '@google-cloud/scheduler';
import sinon from 'sinon';
import type { Change } from '../../infra/changes';
import { DatabaseMismatchError, type DatabaseState } from '../../infra/deploy/datastore-database';
import { deploy } from '../../infra/deploy/deploy';
import { parseDeployArgs } from '../../infra/deploy/deploy-options';
import { readFunctionsSource } from '../../infra/firebase-config';

const REPO = join(__dirname, '../../..');

/** The whole deploy: Pub/Sub on the emulator, Scheduler stubbed, the database's state stubbed (no emulator has the Firestore admin API), commands recorded and never run. */
describe('infra: npm run deploy -- --dry-run', () => {
  let project: string;
  let pubsub: PubSub;
  let scheduler: sinon.SinonStubbedInstance<CloudSchedulerClient>;
  let run: sinon.SinonStub;
  const reported: Change[] = [];
  beforeEach(() => {
    project = `dry-${randomUUID().slice(0, 8)}`;
    pubsub = new PubSub({ projectId: project });
    scheduler = sinon.createStubInstance(CloudSchedulerClient);
    scheduler.getJob.rejects(Object.assign(new Error('not found'), { code: 5 }));
    run = sinon.stub().rejects(new Error('a dry run must not run commands'));
    reported.length = 0;
  });
  afterEach(() => pubsub.close());

  function deployWith(argv: string[], database: DatabaseState | undefined): Promise<Change[]> {
    const options = parseDeployArgs(['--project', project, '--region', 'europe-west1', ...argv]);
    const tools = { pubsub, scheduler, run, projectNumber: sinon.stub().resolves('123456789'), databaseState: sinon.stub().resolves(database) };
    return deploy(options, readFunctionsSource(join(REPO, 'firebase.json')), tools, (change) => reported.push(change));
  }

  async function nothingCreated(): Promise<void> {
    sinon.assert.notCalled(run);
    sinon.assert.notCalled(scheduler.createJob);
    const [topics] = await pubsub.getTopics();
    assert.deepEqual(topics, [], 'nothing was created');
  }

  it('reports every call in order, from firebase.json, and changes nothing', async () => {
    const changes = await deployWith(['--dry-run'], { type: 'DATASTORE_MODE', locationId: 'europe-west1' });
    assert.deepEqual(reported, changes, 'every change is reported as it is planned');
    assert.deepEqual(
      changes.map((change) => change.resource.split(' ').slice(0, 4).join(' ')),
      [
        'firestore database (default) (Datastore',
        `topic projects/${project}/topics/example-work`,
        `topic projects/${project}/topics/example-work-dead-letter`,
        `topic projects/${project}/topics/example-work-retry`,
        `subscription projects/${project}/subscriptions/example-work-dead-letter-hold`,
        'firebase.json functions.predeploy',
        'dist/.deployignore (firebase.json functions.ignore)',
        'gcloud functions deploy acquireLock',
        'gcloud functions deploy releaseLock',
        'gcloud functions deploy renewLock',
        'gcloud functions deploy cleanupLocks',
        'gcloud functions deploy exampleWorker',
        'gcloud functions add-invoker-policy-binding cleanupLocks',
        "the exampleWorker trigger's subscription",
        `subscription projects/${project}/subscriptions/example-work-retry-push`,
        'gcloud functions add-invoker-policy-binding exampleWorker',
        'gcloud pubsub topics add-iam-policy-binding',
        'gcloud pubsub subscriptions add-iam-policy-binding',
        'gcloud pubsub subscriptions add-iam-policy-binding',
        `scheduler job projects/${project}/locations/europe-west1/jobs/cleanup-locks`,
      ],
    );
    assert.equal(changes[0]?.action, 'unchanged', 'a default database in Datastore mode is used as it is');
    const callOf = (resource: string) => changes.find((change) => change.resource.startsWith(resource))?.call ?? '';
    assert.match(callOf('firebase.json functions.predeploy'), /^sh -c 'npm --prefix "\$RESOURCE_DIR" run build'$/);
    assert.match(callOf('gcloud functions deploy acquireLock'), / --runtime=nodejs24 /);
    assert.match(callOf('gcloud pubsub topics add-iam-policy-binding'), /example-work-dead-letter .*--member=serviceAccount:service-123456789@gcp-sa-pubsub\.iam\.gserviceaccount\.com --role=roles\/pubsub\.publisher/);
    // The worker's retry subscription pushes to the private worker as the trigger's identity, which may invoke it.
    const retryPush = callOf(`subscription projects/${project}/subscriptions/example-work-retry-push`);
    assert.match(retryPush, new RegExp(`"pushEndpoint":"https://europe-west1-${project}\\.cloudfunctions\\.net/exampleWorker/projects/${project}/topics/example-work-retry"`));
    assert.match(retryPush, /"oidcToken":\{"serviceAccountEmail":"123456789-compute@developer\.gserviceaccount\.com","audience":"https:\/\/europe-west1-[a-z0-9-]+\.cloudfunctions\.net\/exampleWorker"\}/);
    assert.match(callOf('gcloud functions add-invoker-policy-binding exampleWorker'), /--member=serviceAccount:123456789-compute@developer\.gserviceaccount\.com/);
    await nothingCreated();
  });

  it('a missing named database: the dry run shows its creation in Datastore mode first, and every function reads it', async () => {
    const changes = await deployWith(['--dry-run', '--database', 'locks', '--database-location', 'eur3'], undefined);
    assert.deepEqual(changes[0], {
      action: 'run',
      resource: 'firestore database locks (Datastore mode)',
      call: `gcloud firestore databases create --database=locks --location=eur3 --type=datastore-mode --project=${project} --quiet`,
    });
    const functionDeploys = changes.filter((change) => change.resource.startsWith('gcloud functions deploy '));
    assert.equal(functionDeploys.length, 5);
    for (const change of functionDeploys) assert.match(change.call, /--update-env-vars=\S*LOCKS_DATASTORE_DATABASE=locks/, change.resource);
    await nothingCreated();
  });

  it('a database in Native mode stops the deploy with a clear message, before anything is created', async () => {
    await assert.rejects(
      deployWith(['--database', 'locks'], { type: 'FIRESTORE_NATIVE', locationId: 'europe-west1' }),
      (error: unknown) =>
        error instanceof DatabaseMismatchError && /Database "locks" of project .* is in Firestore Native mode, which the Datastore API \(STRONG locks\) cannot use/.test(error.message),
    );
    assert.deepEqual(reported, []);
    await nothingCreated();
  });

  it('the default database in Native mode (most Firebase projects) says how to choose a named one', async () => {
    await assert.rejects(deployWith([], { type: 'FIRESTORE_NATIVE', locationId: 'nam5' }), /The default database of project .* Native mode.*Deploy with --database NAME/);
    await nothingCreated();
  });

  it('an existing database elsewhere than --database-location stops the deploy (a database cannot move)', async () => {
    await assert.rejects(deployWith(['--database', 'locks', '--database-location', 'europe-west1'], { type: 'DATASTORE_MODE', locationId: 'eur3' }), /exists in eur3, not europe-west1/);
    await nothingCreated();
  });

  it('bad arguments: usage on stderr, exit 2, before any call', () => {
    const result = spawnSync(process.execPath, [join(REPO, 'dist/infra/deploy/main.js'), '--region', 'europe-west1'], { encoding: 'utf8' });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /--project and --region are required\nusage: npm run deploy -- --project PROJECT --region REGION/);
  });
});
