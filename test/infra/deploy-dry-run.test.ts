import {strict as assert} from 'node:assert';
import {spawnSync} from 'node:child_process';
import {randomUUID} from 'node:crypto';
import {join} from 'node:path';
import {PubSub} from '@google-cloud/pubsub';
import {CloudSchedulerClient} from '@google-cloud/scheduler';
import sinon from 'sinon';
import type {Change} from '../../infra/changes';
import type {DatabaseState} from '../../infra/deploy/datastore-database';
import {parseDeployArgs} from '../../infra/deploy/deploy-options';
import {PreflightError} from '../../infra/deploy/preflight';
import {readyProject, deployToFake} from './fake-project';

const REPO = join(__dirname, '../../..');

/** The whole deploy: Pub/Sub on the emulator, Scheduler stubbed, gcloud's reads answered by a fake project (no emulator has the admin APIs), commands recorded and never run. */
describe('infra: npm run deploy -- --dry-run', () => {
  let project: string;
  let pubsub: PubSub;
  let scheduler: sinon.SinonStubbedInstance<CloudSchedulerClient>;
  let run: sinon.SinonStub;
  const reported: Change[] = [];
  beforeEach(() => {
    project = `dry-${randomUUID().slice(0, 8)}`;
    pubsub = new PubSub({projectId: project});
    scheduler = sinon.createStubInstance(CloudSchedulerClient);
    scheduler.getJob.rejects(Object.assign(new Error('not found'), {code: 5}));
    run = sinon.stub().rejects(new Error('a dry run must not run commands'));
    reported.length = 0;
  });
  afterEach(() => pubsub.close());

  /** A project where the APIs are on and the accounts exist: `accounts` lists those that do (default: all). */
  function deployWith(
    argv: string[],
    database: DatabaseState | undefined,
    accounts?: string[],
    env: Record<string, string> = {},
  ): Promise<Change[]> {
    const options = parseDeployArgs([
      '--project',
      project,
      '--region',
      'europe-west1',
      ...argv,
    ]);
    const state = readyProject(options, {
      database,
      ...(accounts ? {accounts: new Set(accounts)} : {}),
    });
    return deployToFake(options, state, {pubsub, scheduler, run, env}, change =>
      reported.push(change),
    );
  }

  async function nothingCreated(): Promise<void> {
    sinon.assert.notCalled(run);
    sinon.assert.notCalled(scheduler.createJob);
    const [topics] = await pubsub.getTopics();
    assert.deepEqual(topics, [], 'nothing was created');
  }

  it('reports every call in order, from firebase.json, and changes nothing: accounts, grants, database, topics, functions, subscription policy, Scheduler job', async () => {
    // A project with its APIs on and nothing of ours yet but the scheduler's account.
    const changes = await deployWith(
      ['--dry-run'],
      {type: 'DATASTORE_MODE', locationId: 'europe-west1'},
      [`locks-scheduler@${project}.iam.gserviceaccount.com`],
    );
    assert.deepEqual(
      reported,
      changes,
      'every change is reported as it is planned',
    );
    assert.deepEqual(
      changes.map(change => change.resource.split(' ').slice(0, 4).join(' ')),
      [
        'the eventarc.googleapis.com service agent',
        'the pubsub.googleapis.com service agent',
        `service account locks-runtime@${project}.iam.gserviceaccount.com`,
        `service account locks-worker@${project}.iam.gserviceaccount.com`,
        `service account locks-build@${project}.iam.gserviceaccount.com`,
        `service account locks-trigger@${project}.iam.gserviceaccount.com`,
        'firestore database (default) (Datastore',
        `roles/logging.logWriter on project ${project}`,
        `roles/artifactregistry.writer on project ${project}`,
        `roles/storage.objectViewer on project ${project}`,
        `roles/datastore.user on project ${project}`,
        `roles/datastore.user on project ${project}`,
        `topic projects/${project}/topics/example-work`,
        `topic projects/${project}/topics/example-work-dead-letter`,
        `topic projects/${project}/topics/example-work-retry`,
        `subscription projects/${project}/subscriptions/example-work-dead-letter-hold`,
        'roles/pubsub.publisher on topic example-work-retry',
        'roles/pubsub.publisher on topic example-work-dead-letter',
        'firebase.json functions.predeploy',
        'dist/.deployignore (firebase.json functions.ignore)',
        'gcloud functions deploy acquireLock',
        'gcloud functions deploy releaseLock',
        'gcloud functions deploy renewLock',
        'gcloud functions deploy cleanupLocks',
        'gcloud functions deploy exampleWorker',
        'roles/run.invoker on function cleanupLocks',
        'roles/run.invoker on function exampleWorker',
        "the exampleWorker trigger's subscription",
        `subscription projects/${project}/subscriptions/example-work-retry-push`,
        'gcloud pubsub topics add-iam-policy-binding',
        'gcloud pubsub subscriptions add-iam-policy-binding',
        'gcloud pubsub subscriptions add-iam-policy-binding',
        `scheduler job projects/${project}/locations/europe-west1/jobs/cleanup-locks`,
      ],
    );
    const callOf = (resource: string) =>
      changes.find(change => change.resource.startsWith(resource))?.call ?? '';
    assert.equal(
      callOf('service account locks-runtime@'),
      `gcloud iam service-accounts create locks-runtime --project=${project} '--display-name=locks functions: runtime' --quiet`,
    );
    assert.equal(
      callOf('the eventarc.googleapis.com service agent'),
      `gcloud beta services identity create --service=eventarc.googleapis.com --project=${project} --quiet`,
      'the service agents come first, so their roles propagate while the rest is made',
    );
    assert.equal(
      changes[6]?.action,
      'unchanged',
      'a default database in Datastore mode is used as it is',
    );
    for (const role of [
      'logging.logWriter',
      'artifactregistry.writer',
      'storage.objectViewer',
    ])
      assert.match(
        callOf(`roles/${role}`),
        new RegExp(
          `^gcloud projects add-iam-policy-binding ${project} --member=serviceAccount:locks-build@${project}\\.iam\\.gserviceaccount\\.com --role=roles/${role.replace('.', '\\.')} --condition=None --quiet$`,
        ),
      );
    assert.ok(
      !changes.some(change =>
        change.call.includes('cloudbuild.builds.builder'),
      ),
      'the build account is not a Cloud Build builder (which may write to every bucket)',
    );
    assert.deepEqual(
      changes
        .filter(change => change.resource.startsWith('roles/datastore.user'))
        .map(
          change => /--member=serviceAccount:([a-z-]+)@/.exec(change.call)?.[1],
        ),
      ['locks-runtime', 'locks-worker'],
    );
    // Only the worker's own account publishes to the worker's topics.
    const publishers = changes.filter(change =>
      change.resource.startsWith('roles/pubsub.publisher on topic'),
    );
    assert.equal(publishers.length, 2);
    for (const change of publishers)
      assert.match(
        change.call,
        /^gcloud pubsub topics add-iam-policy-binding example-work-(retry|dead-letter) .*--member=serviceAccount:locks-worker@.*--role=roles\/pubsub\.publisher/,
      );
    assert.match(
      callOf('gcloud functions deploy exampleWorker'),
      new RegExp(
        ` --service-account=locks-worker@${project}\\.iam\\.gserviceaccount\\.com `,
      ),
    );
    assert.match(
      callOf('firebase.json functions.predeploy'),
      /^sh -c 'npm --prefix "\$RESOURCE_DIR" run build'$/,
    );
    for (const name of [
      'acquireLock',
      'releaseLock',
      'cleanupLocks',
      'exampleWorker',
    ]) {
      const line = callOf(`gcloud functions deploy ${name}`);
      assert.match(line, / --runtime=nodejs24 /, name);
      assert.match(
        line,
        new RegExp(
          ` --service-account=locks-${name === 'exampleWorker' ? 'worker' : 'runtime'}@${project}\\.iam\\.gserviceaccount\\.com `,
        ),
        name,
      );
      assert.match(
        line,
        new RegExp(
          ` --build-service-account=projects/${project}/serviceAccounts/locks-build@${project}\\.iam\\.gserviceaccount\\.com `,
        ),
        name,
      );
    }
    assert.match(
      callOf('gcloud functions deploy exampleWorker'),
      new RegExp(
        ` --trigger-service-account=locks-trigger@${project}\\.iam\\.gserviceaccount\\.com `,
      ),
    );
    assert.match(
      callOf('roles/run.invoker on function exampleWorker'),
      /^gcloud functions add-invoker-policy-binding exampleWorker .*--member=serviceAccount:locks-trigger@/,
    );
    assert.match(
      callOf('gcloud pubsub topics add-iam-policy-binding'),
      /example-work-dead-letter .*--member=serviceAccount:service-123456789@gcp-sa-pubsub\.iam\.gserviceaccount\.com --role=roles\/pubsub\.publisher/,
    );
    // The worker's retry subscription pushes to the private worker as the trigger's account, the one its invoker grant names.
    const retryPush = callOf(
      `subscription projects/${project}/subscriptions/example-work-retry-push`,
    );
    assert.match(
      retryPush,
      new RegExp(
        `"pushEndpoint":"https://europe-west1-${project}\\.cloudfunctions\\.net/exampleWorker/projects/${project}/topics/example-work-retry"`,
      ),
    );
    assert.match(
      retryPush,
      new RegExp(
        `"oidcToken":\\{"serviceAccountEmail":"locks-trigger@${project}\\.iam\\.gserviceaccount\\.com","audience":"https://europe-west1-[a-z0-9-]+\\.cloudfunctions\\.net/exampleWorker"\\}`,
      ),
    );
    assert.match(
      callOf("the exampleWorker trigger's subscription"),
      /once gcloud has created it \(read from the trigger's transport\.pubsub\.subscription\)/,
    );
    assert.ok(
      !changes.some(change =>
        change.call.includes('-compute@developer.gserviceaccount.com'),
      ),
      'the default compute account is used for nothing',
    );
    await nothingCreated();
  });

  it('--locks-page: locksPage is deployed after the others exactly as acquireLock is (runtime account, private, no invoker grant), turned on with LOCKS_PAGE_ENABLED=true', async () => {
    const database: DatabaseState = {
      type: 'DATASTORE_MODE',
      locationId: 'europe-west1',
    };
    const changes = await deployWith(
      ['--dry-run', '--locks-page'],
      database,
      undefined,
      {LOCKS_API_TOKEN: 'page-secret'},
    );
    const resources = changes.map(change => change.resource);
    const deploys = resources.filter(resource =>
      resource.startsWith('gcloud functions deploy '),
    );
    assert.deepEqual(
      deploys,
      [
        'acquireLock',
        'releaseLock',
        'renewLock',
        'cleanupLocks',
        'exampleWorker',
        'locksPage',
      ].map(name => `gcloud functions deploy ${name}`),
    );
    assert.equal(
      resources.indexOf('gcloud functions deploy locksPage') + 1,
      resources.findIndex(resource => resource.startsWith('roles/run.invoker')),
      'after the other functions, before the invoker grants',
    );
    const callOf = (resource: string) =>
      changes.find(change => change.resource === resource)?.call ?? '';
    // The same command line as an HTTP function of the same deploy, but for its name and its one variable.
    const asAcquireLock = callOf('gcloud functions deploy acquireLock')
      .replace(/acquireLock/g, 'locksPage')
      .replace(
        ' --remove-env-vars=',
        ' --update-env-vars=LOCKS_PAGE_ENABLED=true --remove-env-vars=',
      );
    assert.equal(callOf('gcloud functions deploy locksPage'), asAcquireLock);
    assert.match(
      callOf('gcloud functions deploy locksPage'),
      new RegExp(
        ` --service-account=locks-runtime@${project}\\.iam\\.gserviceaccount\\.com .* --trigger-http --no-allow-unauthenticated$`,
      ),
    );
    assert.ok(
      !changes.some(change => change.call.includes('--allow-unauthenticated')),
      'no function is public',
    );
    assert.ok(
      !resources.some(resource =>
        resource.startsWith('roles/run.invoker on function locksPage'),
      ),
      'invokers are granted as for acquireLock: by the operator, not the deploy',
    );
    assert.ok(
      !changes.some(change => change.call.includes('page-secret')),
      'the token is never printed',
    );
    // Everything else is the plan without the switch.
    const without = await deployWith(['--dry-run'], database, undefined, {
      LOCKS_API_TOKEN: 'page-secret',
    });
    assert.deepEqual(
      changes.filter(
        change => change.resource !== 'gcloud functions deploy locksPage',
      ),
      without,
    );
    await nothingCreated();
  });

  it("a redeploy: the plan names the trigger's own subscription, read from Eventarc, and no other subscription of the work topic", async () => {
    const options = parseDeployArgs([
      '--project',
      project,
      '--region',
      'europe-west1',
      '--dry-run',
    ]);
    const state = readyProject(options, {
      worker: {
        trigger: `projects/${project}/locations/europe-west1/triggers/exampleworker-7`,
        subscription: 'eventarc-europe-west1-exampleworker-7-sub-8',
      },
    });
    await pubsub.createTopic('example-work');
    await pubsub
      .topic('example-work')
      .createSubscription('eventarc-europe-west1-exampleworker-7-sub-8', {
        pushConfig: {pushEndpoint: 'https://worker.example/'},
      });
    await pubsub.topic('example-work').createSubscription('someone-elses', {});
    const changes = await deployToFake(options, state, {
      pubsub,
      scheduler,
      run,
    });
    const subscriptions = changes.filter(
      change =>
        /subscriptions?\b/.test(change.resource) ||
        change.call.includes('subscriptions add-iam-policy-binding'),
    );
    assert.ok(
      changes.some(
        change =>
          change.action === 'update' &&
          change.resource ===
            `subscription projects/${project}/subscriptions/eventarc-europe-west1-exampleworker-7-sub-8`,
      ),
    );
    assert.ok(
      changes.some(change =>
        /^gcloud pubsub subscriptions add-iam-policy-binding eventarc-europe-west1-exampleworker-7-sub-8 /.test(
          change.call,
        ),
      ),
    );
    assert.ok(
      !subscriptions.some(change =>
        `${change.resource} ${change.call}`.includes('someone-elses'),
      ),
      'the foreign subscription is not in the plan',
    );
    sinon.assert.notCalled(run);
  });

  it('a redeploy whose trigger is unchanged leaves the trigger flags out (gcloud keeps the trigger); a changed trigger is sent again', async () => {
    const options = parseDeployArgs([
      '--project',
      project,
      '--region',
      'europe-west1',
      '--dry-run',
    ]);
    const worker = {
      trigger: `projects/${project}/locations/europe-west1/triggers/exampleworker-7`,
      subscription: 'eventarc-europe-west1-exampleworker-7-sub-8',
    };
    await pubsub.createTopic('example-work');
    await pubsub.topic('example-work').createSubscription(worker.subscription, {
      pushConfig: {pushEndpoint: 'https://worker.example/'},
    });
    const plan = async (state: ReturnType<typeof readyProject>) =>
      (await deployToFake(options, state, {pubsub, scheduler, run})).find(
        change =>
          change.resource.startsWith('gcloud functions deploy exampleWorker'),
      );
    const kept = await plan(readyProject(options, {worker}));
    assert.equal(
      kept?.resource,
      'gcloud functions deploy exampleWorker (its trigger as deployed: trigger flags left out)',
    );
    assert.ok(
      !/--trigger-topic|--trigger-service-account|--retry/.test(
        kept?.call ?? '',
      ),
      kept?.call,
    );
    assert.match(kept?.call ?? '', / --service-account=locks-worker@/);
    for (const eventTrigger of [
      {serviceAccountEmail: `someone@${project}.iam.gserviceaccount.com`},
      {pubsubTopic: `projects/${project}/topics/other`},
      {retryPolicy: 'RETRY_POLICY_DO_NOT_RETRY'},
    ]) {
      const resent = await plan(
        readyProject(options, {worker: {...worker, eventTrigger}}),
      );
      assert.equal(resent?.resource, 'gcloud functions deploy exampleWorker');
      assert.match(
        resent?.call ?? '',
        / --trigger-topic=example-work --trigger-service-account=locks-trigger@\S+ --retry$/,
        JSON.stringify(eventTrigger),
      );
    }
    sinon.assert.notCalled(run);
  });

  it('a named database: roles/datastore.user holds on it alone (an IAM condition on resource.name), for both runtime accounts', async () => {
    const changes = await deployWith(['--dry-run', '--database', 'locks'], {
      type: 'DATASTORE_MODE',
      locationId: 'europe-west1',
    });
    const grants = changes.filter(change =>
      change.resource.startsWith('roles/datastore.user'),
    );
    assert.equal(grants.length, 2);
    for (const grant of grants) {
      assert.match(grant.resource, / \(on database locks only\)$/);
      assert.match(
        grant.call,
        new RegExp(
          ` '--condition=expression=resource\\.name=="projects/${project}/databases/locks",title=locks database locks' --quiet$`,
        ),
      );
    }
    const unnamed = await deployWith(['--dry-run'], {
      type: 'DATASTORE_MODE',
      locationId: 'europe-west1',
    });
    for (const grant of unnamed.filter(change =>
      change.resource.startsWith('roles/datastore.user'),
    ))
      assert.match(grant.call, / --condition=None --quiet$/);
  });

  it('a missing named database: the dry run shows its creation in Datastore mode first, and every function reads it', async () => {
    const changes = await deployWith(
      ['--dry-run', '--database', 'locks', '--database-location', 'eur3'],
      undefined,
    );
    assert.deepEqual(databaseChange(changes), {
      action: 'run',
      resource: 'firestore database locks (Datastore mode)',
      call: `gcloud firestore databases create --database=locks --location=eur3 --type=datastore-mode --project=${project} --quiet`,
    });
    const functionDeploys = changes.filter(change =>
      change.resource.startsWith('gcloud functions deploy '),
    );
    assert.equal(functionDeploys.length, 5);
    for (const change of functionDeploys)
      assert.match(
        change.call,
        /--update-env-vars=\S*LOCKS_DATASTORE_DATABASE=locks/,
        change.resource,
      );
    await nothingCreated();
  });

  it('a database in Native mode stops the deploy with a clear message, before anything is created', async () => {
    await assert.rejects(
      deployWith(['--database', 'locks'], {
        type: 'FIRESTORE_NATIVE',
        locationId: 'europe-west1',
      }),
      (error: unknown) =>
        error instanceof PreflightError &&
        /Database "locks" of project .* is in Firestore Native mode, which the Datastore API \(STRONG locks\) cannot use/.test(
          error.message,
        ),
    );
    assert.deepEqual(reported, []);
    await nothingCreated();
  });

  it('the default database in Native mode (most Firebase projects) says how to choose a named one', async () => {
    await assert.rejects(
      deployWith([], {type: 'FIRESTORE_NATIVE', locationId: 'nam5'}),
      /The default database of project .* Native mode.*Deploy with --database NAME/,
    );
    await nothingCreated();
  });

  it('--strong-store firestore with a missing named database: the dry run creates it in Firestore native mode first, and every function reads it from LOCKS_FIRESTORE_DATABASE', async () => {
    const changes = await deployWith(
      ['--dry-run', '--strong-store', 'firestore', '--database', 'locks'],
      undefined,
    );
    assert.deepEqual(databaseChange(changes), {
      action: 'run',
      resource: 'firestore database locks (Firestore native mode)',
      call: `gcloud firestore databases create --database=locks --location=europe-west1 --type=firestore-native --project=${project} --quiet`,
    });
    const functionDeploys = changes.filter(change =>
      change.resource.startsWith('gcloud functions deploy '),
    );
    assert.equal(functionDeploys.length, 5);
    for (const change of functionDeploys) {
      assert.match(
        change.call,
        /--update-env-vars=\S*LOCKS_STRONG_STORE=firestore/,
        change.resource,
      );
      assert.match(
        change.call,
        /--update-env-vars=\S*LOCKS_FIRESTORE_DATABASE=locks/,
        change.resource,
      );
      assert.match(
        change.call,
        / --remove-env-vars=LOCKS_DATASTORE_DATABASE /,
        change.resource,
      );
    }
    assert.match(
      changes.find(change => change.resource.startsWith('roles/datastore.user'))
        ?.call ?? '',
      /--role=roles\/datastore\.user/,
      'the same role serves the Firestore API',
    );
    await nothingCreated();
  });

  it('--strong-store firestore with the default database already in native mode (most Firebase projects): used as it is', async () => {
    const changes = await deployWith(
      ['--dry-run', '--strong-store', 'firestore'],
      {type: 'FIRESTORE_NATIVE', locationId: 'nam5'},
    );
    assert.deepEqual(databaseChange(changes), {
      action: 'unchanged',
      resource: 'firestore database (default) (Firestore native mode) in nam5',
      call: '',
    });
    await nothingCreated();
  });

  it('--strong-store firestore with a database in Datastore mode stops the deploy, naming the mode and both ways out', async () => {
    await assert.rejects(
      deployWith(['--strong-store', 'firestore', '--database', 'locks'], {
        type: 'DATASTORE_MODE',
        locationId: 'europe-west1',
      }),
      (error: unknown) =>
        error instanceof PreflightError &&
        /Database "locks" of project .* is in Datastore mode, which the Firestore API \(STRONG locks with --strong-store firestore\) cannot use\. Deploy with --database NAME .*created in Firestore Native mode; or keep the locks in this database with --strong-store datastore\./.test(
          error.message,
        ),
    );
    assert.deepEqual(reported, []);
    await nothingCreated();
  });

  it('the default database in Native mode, with the Datastore store: the message offers --strong-store firestore too', async () => {
    await assert.rejects(
      deployWith([], {type: 'FIRESTORE_NATIVE', locationId: 'nam5'}),
      /or keep the locks in this database with --strong-store firestore\./,
    );
    await nothingCreated();
  });

  it('an existing database elsewhere than --database-location stops the deploy (a database cannot move)', async () => {
    await assert.rejects(
      deployWith(
        ['--database', 'locks', '--database-location', 'europe-west1'],
        {type: 'DATASTORE_MODE', locationId: 'eur3'},
      ),
      /exists in eur3, not europe-west1/,
    );
    await nothingCreated();
  });

  it('bad arguments: usage on stderr, exit 2, before any call', () => {
    const result = spawnSync(
      process.execPath,
      [join(REPO, 'dist/infra/deploy/main.js'), '--region', 'europe-west1'],
      {encoding: 'utf8'},
    );
    assert.equal(result.status, 2);
    assert.match(
      result.stderr,
      /--project and --region are required\nusage: npm run deploy -- --project PROJECT --region REGION/,
    );
  });
});

function databaseChange(changes: readonly Change[]): Change | undefined {
  return changes.find(change =>
    change.resource.startsWith('firestore database'),
  );
}
