import {strict as assert} from 'node:assert';
import {randomUUID} from 'node:crypto';
import {PubSub} from '@google-cloud/pubsub';
import {CloudSchedulerClient} from '@google-cloud/scheduler';
import sinon from 'sinon';
import type {Change} from '../../infra/changes';
import {
  parseDeployArgs,
  type DeployOptions,
} from '../../infra/deploy/deploy-options';
import type {GcloudRunner} from '../../infra/deploy/gcloud-runner';
import {READ_CONSTRAINTS} from '../../infra/deploy/org-policies';
import {PreflightError} from '../../infra/deploy/preflight';
import {
  fakeGcloud,
  freshProject,
  readyProject,
  type FakeProject,
  deployToFake,
} from './fake-project';

/**
 * The preflight: every problem stops the deploy before its first change, one line each, naming the
 * fix. gcloud's reads and the permission test are stubbed (no emulator serves those admin APIs);
 * Pub/Sub is the emulator, so "nothing was created" is read from a real server.
 */
describe('infra: deploy preflight, before any change', () => {
  let project: string;
  let pubsub: PubSub;
  let scheduler: sinon.SinonStubbedInstance<CloudSchedulerClient>;
  let run: sinon.SinonStub;
  beforeEach(() => {
    project = `pre-${randomUUID().slice(0, 8)}`;
    pubsub = new PubSub({projectId: project});
    scheduler = sinon.createStubInstance(CloudSchedulerClient);
    scheduler.getJob.rejects(Object.assign(new Error('not found'), {code: 5}));
    run = sinon
      .stub()
      .rejects(new Error('the preflight must stop before any command runs'));
  });
  afterEach(() => pubsub.close());

  function optionsFor(argv: string[] = []): DeployOptions {
    return parseDeployArgs([
      '--project',
      project,
      '--region',
      'europe-west1',
      ...argv,
    ]);
  }

  function deployTo(
    options: DeployOptions,
    state: FakeProject,
    gcloud: GcloudRunner = fakeGcloud(state),
    reported: Change[] = [],
    env: Record<string, string> = {},
  ): Promise<Change[]> {
    return deployToFake(
      options,
      state,
      {pubsub, scheduler, run, gcloud, sleep: async () => {}, env},
      change => reported.push(change),
    );
  }

  /** Rejects with a PreflightError whose lines match `lines`, one each, and nothing was changed. */
  async function stopsWith(
    deploying: Promise<Change[]>,
    lines: RegExp[],
  ): Promise<void> {
    await assert.rejects(deploying, (error: unknown) => {
      assert.ok(error instanceof PreflightError, String(error));
      assert.equal(error.problems.length, lines.length, error.message);
      lines.forEach((line, i) => assert.match(error.problems[i] ?? '', line));
      assert.match(error.message, /nothing was changed/);
      return true;
    });
    sinon.assert.notCalled(run);
    sinon.assert.notCalled(scheduler.createJob);
    sinon.assert.notCalled(scheduler.updateJob);
    const [topics] = await pubsub.getTopics();
    assert.deepEqual(topics, [], 'no topic was created');
  }

  it('--locks-page without LOCKS_API_TOKEN: one line saying why, before any read; with the token the deploy goes on', async () => {
    const options = optionsFor(['--locks-page']);
    const state = readyProject(options);
    const calls: string[][] = [];
    await stopsWith(deployTo(options, state, fakeGcloud(state, calls)), [
      /^--locks-page needs LOCKS_API_TOKEN in the deploy's environment \(the value the functions require\): without it the page's lock list and feed are open to anyone who may invoke it$/,
    ]);
    assert.deepEqual(calls, [], 'stopped before any read');
    const planned = await deployTo(
      parseDeployArgs([
        '--project',
        project,
        '--region',
        'europe-west1',
        '--locks-page',
        '--dry-run',
      ]),
      state,
      fakeGcloud(state),
      [],
      {LOCKS_API_TOKEN: 't'},
    );
    assert.ok(
      planned.some(
        change => change.resource === 'gcloud functions deploy locksPage',
      ),
    );
  });

  it('disabled APIs: one line each, naming the gcloud services enable line (or --enable-apis)', async () => {
    const options = optionsFor();
    const state = readyProject(options);
    state.enabledApis.delete('eventarc.googleapis.com');
    state.enabledApis.delete('datastore.googleapis.com');
    const fix = `run \`gcloud services enable eventarc.googleapis.com datastore.googleapis.com --project=${project}\`, or deploy with --enable-apis`;
    await stopsWith(deployTo(options, state), [
      new RegExp(
        `^API eventarc\\.googleapis\\.com is not enabled \\(Eventarc: the worker's Pub/Sub trigger\\): ${escape(fix)}$`,
      ),
      new RegExp(
        `^API datastore\\.googleapis\\.com is not enabled \\(Datastore: what STRONG locks call at run time\\): ${escape(fix)}$`,
      ),
    ]);
  });

  it('--strong-store firestore: a disabled Firestore API stops the deploy; a disabled Datastore API does not matter', async () => {
    const options = optionsFor(['--strong-store', 'firestore']);
    const state = readyProject(options, {
      database: {type: 'FIRESTORE_NATIVE', locationId: 'europe-west1'},
    });
    assert.ok(
      !state.enabledApis.has('datastore.googleapis.com'),
      'the project has the Datastore API off',
    );
    state.enabledApis.delete('firestore.googleapis.com');
    await stopsWith(deployTo(options, state), [
      /^API firestore\.googleapis\.com is not enabled \(Firestore: .*what STRONG locks call at run time\): run `gcloud services enable firestore\.googleapis\.com /,
    ]);
    state.enabledApis.add('firestore.googleapis.com');
    const planned = await deployTo(
      optionsFor(['--strong-store', 'firestore', '--dry-run']),
      state,
    );
    assert.ok(
      planned.some(
        change => change.resource === 'gcloud functions deploy acquireLock',
      ),
      'with the Firestore API on, the preflight passes without the Datastore API',
    );
  });

  it('a brand-new project without --enable-apis stops at the APIs, before it reads what they serve', async () => {
    const options = optionsFor();
    const calls: string[][] = [];
    const state = freshProject(options);
    await stopsWith(
      deployTo(options, state, fakeGcloud(state, calls)),
      Array(9).fill(/is not enabled .*or deploy with --enable-apis$/),
    );
    assert.deepEqual(
      calls.map(args =>
        args.slice(0, args[0] === 'org-policies' ? 2 : 3).join(' '),
      ),
      [
        'version --format=json',
        ...READ_CONSTRAINTS.map(() => 'org-policies describe'),
        'services list --enabled',
      ],
    );
  });

  it('a missing role: the line names the permissions, the role and the grant that fixes it', async () => {
    const options = optionsFor();
    const state = readyProject(options);
    state.granted.delete('cloudfunctions.functions.sourceCodeSet');
    state.granted.delete('pubsub.topics.create');
    await stopsWith(deployTo(options, state), [
      new RegExp(
        `^you lack cloudfunctions\\.functions\\.sourceCodeSet: have a project owner run \`gcloud projects add-iam-policy-binding ${project} --member=user:YOUR_EMAIL --role=roles/cloudfunctions\\.developer\``,
      ),
      /^you lack pubsub\.topics\.create: .* --role=roles\/pubsub\.admin`/,
    ]);
  });

  it('actAs is tested on each account that exists: a grant on the account counts, and a missing one names the account-level fix', async () => {
    const options = optionsFor();
    const state = readyProject(options);
    state.granted.delete('iam.serviceAccounts.actAs');
    state.actAs.delete(`locks-scheduler@${project}.iam.gserviceaccount.com`);
    await stopsWith(deployTo(options, state), [
      new RegExp(
        `^you lack iam\\.serviceAccounts\\.actAs on locks-scheduler@${project}\\.iam\\.gserviceaccount\\.com: have its owner run \`gcloud iam service-accounts add-iam-policy-binding locks-scheduler@${project}\\.iam\\.gserviceaccount\\.com --member=user:YOUR_EMAIL --role=roles/iam\\.serviceAccountUser\``,
      ),
    ]);
    // Granted on the account alone (not on the project): the deploy goes on.
    state.actAs.add(`locks-scheduler@${project}.iam.gserviceaccount.com`);
    await deployTo(optionsFor(['--dry-run']), state);
  });

  it('actAs for accounts the deploy creates is tested on the project they inherit from', async () => {
    const options = optionsFor();
    const state = readyProject(options);
    state.granted.delete('iam.serviceAccounts.actAs');
    state.accounts.delete(`locks-build@${project}.iam.gserviceaccount.com`);
    await stopsWith(deployTo(options, state), [
      new RegExp(
        `^you lack iam\\.serviceAccounts\\.actAs on project ${project}, which locks-build@${project}\\.iam\\.gserviceaccount\\.com \\(created by the deploy\\) inherits`,
      ),
    ]);
  });

  it('the permissions the steps use are all tested: sourceCodeSet, attachSubscription, the getIamPolicy ones', async () => {
    const options = optionsFor();
    for (const [permission, role] of [
      ['cloudfunctions.functions.sourceCodeSet', 'cloudfunctions.developer'],
      ['pubsub.topics.attachSubscription', 'pubsub.admin'],
      ['pubsub.topics.getIamPolicy', 'pubsub.admin'],
      ['pubsub.subscriptions.getIamPolicy', 'pubsub.admin'],
      ['run.services.getIamPolicy', 'run.admin'],
      [
        'resourcemanager.projects.getIamPolicy',
        'resourcemanager.projectIamAdmin',
      ],
      ['serviceusage.services.use', 'serviceusage.serviceUsageConsumer'],
    ]) {
      const state = readyProject(options);
      state.granted.delete(permission as string);
      await stopsWith(deployTo(options, state), [
        new RegExp(
          `^you lack ${escape(permission as string)}: .*--role=roles/${escape(role as string)}\``,
        ),
      ]);
    }
  });

  it('gcloud older than 528, or without its beta component, stops the deploy before any other read', async () => {
    const options = optionsFor();
    const calls: string[][] = [];
    const old = readyProject(options, {
      gcloudVersion: {sdk: '527.0.0', beta: false},
    });
    await stopsWith(deployTo(options, old, fakeGcloud(old, calls)), [
      /^gcloud 527\.0\.0 is older than 528\.0\.0: run `gcloud components update`$/,
      /^gcloud's beta component is missing .*: run `gcloud components install beta`$/,
    ]);
    assert.deepEqual(calls, [['version', '--format=json']]);
    // Without the worker, no service agent is made: beta is not needed.
    const noBeta = readyProject(options, {
      gcloudVersion: {sdk: '528.0.0', beta: false},
    });
    await deployTo(
      optionsFor(['--dry-run', '--without-example-worker']),
      noBeta,
    );
  });

  it('Direct VPC egress (--network/--subnet) needs gcloud 558, which Google names for those flags', async () => {
    const options = optionsFor(['--network', 'default', '--subnet', 'locks']);
    const state = readyProject(options);
    await stopsWith(deployTo(options, state), [
      /^gcloud 528\.0\.0 is older than 558\.0\.0 \(Direct VPC egress: --network\/--subnet\): run `gcloud components update`$/,
    ]);
    state.gcloudVersion = {sdk: '560.0.1', beta: true};
    const planned = await deployTo(
      optionsFor(['--network', 'default', '--subnet', 'locks', '--dry-run']),
      state,
    );
    const acquire = planned.find(
      change => change.resource === 'gcloud functions deploy acquireLock',
    );
    assert.match(
      acquire?.call ?? '',
      / --network=default --subnet=locks --quiet /,
    );
    assert.ok(!acquire?.call.includes('--vpc-connector'));
  });

  it('a database in Native mode stops the deploy and says how to choose a Datastore-mode one', async () => {
    const options = optionsFor();
    const state = readyProject(options, {
      database: {type: 'FIRESTORE_NATIVE', locationId: 'nam5'},
    });
    await stopsWith(deployTo(options, state), [
      /^The default database of project .* is in Firestore Native mode, .*Deploy with --database NAME \(for example --database locks\)/,
    ]);
  });

  it('a named account that does not exist outside the project stops the deploy; every problem is listed at once', async () => {
    const options = optionsFor([
      '--runtime-service-account',
      'runner@elsewhere-123.iam.gserviceaccount.com',
      '--database',
      'locks',
    ]);
    const state = readyProject(options, {
      database: {type: 'FIRESTORE_NATIVE', locationId: 'europe-west1'},
    });
    state.accounts.delete('runner@elsewhere-123.iam.gserviceaccount.com');
    await stopsWith(deployTo(options, state), [
      /^service account runner@elsewhere-123\.iam\.gserviceaccount\.com \(runtime\) does not exist, and the deploy creates accounts only in project .*: create it, or drop --runtime-service-account to use the default$/,
      /^Database "locks" of project .* is in Firestore Native mode/,
    ]);
  });

  it('an account that cannot be read (not NOT_FOUND) is a problem, never taken for "missing" and created', async () => {
    const options = optionsFor();
    const state = readyProject(options);
    const real = fakeGcloud(state);
    const denied: GcloudRunner = async args =>
      args[0] === 'iam' && args[3] === options.buildServiceAccount
        ? {
            code: 1,
            stdout: '',
            stderr:
              'ERROR: (gcloud.iam.service-accounts.describe) PERMISSION_DENIED: denied\n',
          }
        : real(args);
    await stopsWith(deployTo(options, state, denied), [
      /^could not read service account locks-build@.*PERMISSION_DENIED/,
    ]);
  });

  it('missing accounts of the project are created first, then granted (a fresh project with its APIs on)', async () => {
    const options = optionsFor();
    const state = readyProject(options, {
      accounts: new Set(),
      database: undefined,
    });
    run.resolves();
    const reported: Change[] = [];
    await deployTo(options, state, withWorkerOnDeploy(state), reported);
    const lines = run
      .getCalls()
      .map(call => (call.args[1] as string[]).slice(0, 4).join(' '));
    assert.deepEqual(lines.slice(0, 15), [
      'beta services identity create',
      'beta services identity create',
      'iam service-accounts create locks-runtime',
      'iam service-accounts create locks-worker',
      'iam service-accounts create locks-build',
      'iam service-accounts create locks-trigger',
      'iam service-accounts create locks-scheduler',
      'firestore databases create --database=(default)',
      `projects add-iam-policy-binding ${project} --member=serviceAccount:locks-build@${project}.iam.gserviceaccount.com`,
      `projects add-iam-policy-binding ${project} --member=serviceAccount:locks-build@${project}.iam.gserviceaccount.com`,
      `projects add-iam-policy-binding ${project} --member=serviceAccount:locks-build@${project}.iam.gserviceaccount.com`,
      `projects add-iam-policy-binding ${project} --member=serviceAccount:locks-runtime@${project}.iam.gserviceaccount.com`,
      `projects add-iam-policy-binding ${project} --member=serviceAccount:locks-worker@${project}.iam.gserviceaccount.com`,
      'pubsub topics add-iam-policy-binding example-work-retry',
      'pubsub topics add-iam-policy-binding example-work-dead-letter',
    ]);
  });

  it('--enable-apis on a brand-new project: enables exactly the missing APIs first, then checks the rest and goes on', async () => {
    const options = optionsFor(['--enable-apis']);
    const state = freshProject(options);
    run.callsFake(async (_command: string, args: string[]) => {
      if (args[0] === 'services' && args[1] === 'enable')
        for (const api of args.slice(2).filter(arg => !arg.startsWith('--')))
          state.enabledApis.add(api);
      if (args[0] === 'iam' && args[2] === 'create')
        state.accounts.add(`${args[3]}@${project}.iam.gserviceaccount.com`);
    });
    await deployTo(options, state, withWorkerOnDeploy(state));
    const first = run.firstCall.args[1] as string[];
    assert.deepEqual(first, [
      'services',
      'enable',
      'cloudfunctions.googleapis.com',
      'run.googleapis.com',
      'cloudbuild.googleapis.com',
      'artifactregistry.googleapis.com',
      'eventarc.googleapis.com',
      'pubsub.googleapis.com',
      'cloudscheduler.googleapis.com',
      'firestore.googleapis.com',
      'iam.googleapis.com',
      `--project=${project}`,
      '--quiet',
    ]);
    assert.deepEqual(run.secondCall.args[1] as string[], [
      'beta',
      'services',
      'identity',
      'create',
      '--service=eventarc.googleapis.com',
      `--project=${project}`,
      '--quiet',
    ]);
  });

  it('--enable-apis --dry-run on a brand-new project: shows the enable line, and says the rest needs them', async () => {
    const options = optionsFor(['--enable-apis', '--dry-run']);
    const reported: Change[] = [];
    await stopsWith(
      deployTo(options, freshProject(options), undefined, reported),
      [
        /^the rest of the plan reads the project through cloudfunctions\.googleapis\.com, .*: a deploy with --enable-apis enables them first/,
      ],
    );
    assert.equal(reported.length, 1);
    assert.match(
      reported[0]?.call ?? '',
      /^gcloud services enable cloudfunctions\.googleapis\.com .* --quiet$/,
    );
  });

  /** A gcloud whose project gets the worker's trigger once `gcloud functions deploy exampleWorker` ran, as Eventarc does; its subscription is made on the emulator. */
  function withWorkerOnDeploy(state: FakeProject): GcloudRunner {
    const reads = fakeGcloud(state);
    return async args => {
      const deployed = run
        .getCalls()
        .some(
          call =>
            (call.args[1] as string[])[1] === 'deploy' &&
            (call.args[1] as string[])[2] === 'exampleWorker',
        );
      if (deployed && !state.worker) {
        state.worker = {
          trigger: `projects/${project}/locations/europe-west1/triggers/exampleworker-1`,
          subscription: 'eventarc-europe-west1-exampleworker-1-sub-2',
        };
        await pubsub
          .topic('example-work')
          .createSubscription(state.worker.subscription, {
            pushConfig: {pushEndpoint: 'https://worker.example/'},
          });
      }
      return reads(args);
    };
  }
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
