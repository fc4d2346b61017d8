import {strict as assert} from 'node:assert';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {runToEnd} from '../../infra/spawn-and-wait';

const REPO = join(__dirname, '../../..');
const MAIN = join(REPO, 'dist/infra/deploy/main.js');

/**
 * `npm run deploy -- --plan`, as a newcomer runs it before logging in: an empty gcloud
 * configuration, no application default credentials, and a gcloud that does not exist. Any read of
 * a real project would fail in that environment, so a plan that completes made none.
 */
describe('infra: npm run deploy -- --plan, offline', function () {
  this.timeout(30_000);
  let home: string;
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'deploy-plan-'));
  });
  afterEach(() => rmSync(home, {recursive: true, force: true}));

  async function plan(
    ...argv: string[]
  ): Promise<{code: number | null; stdout: string}> {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: home,
      CLOUDSDK_CONFIG: join(home, 'gcloud'),
      GCLOUD_BINARY: join(home, 'no-gcloud-here'),
      METADATA_SERVER_DETECTION: 'none',
    };
    const result = await runToEnd(
      process.execPath,
      [MAIN, '--project', 'my-project', '--region', 'europe-west1', ...argv],
      {env},
    );
    return {code: result.code, stdout: result.stdout};
  }

  /** The first line of each planned change: `would ACTION RESOURCE`. */
  function steps(stdout: string): string[] {
    return stdout
      .split('\n')
      .filter(
        line => line.startsWith('would ') && !line.startsWith('would make '),
      )
      .map(line => line.replace(/\s+/g, ' '));
  }

  it('prints every command a brand-new project gets, in order, with no credentials, no network and no gcloud', async () => {
    const {code, stdout} = await plan('--plan');
    assert.equal(code, 0, stdout);
    assert.match(stdout, /^plan: deploying to project my-project/);
    assert.match(
      stdout,
      /# plan for a brand-new project: nothing read from Google Cloud, no credentials used/,
    );
    const sa = (id: string) => `${id}@my-project.iam.gserviceaccount.com`;
    assert.deepEqual(steps(stdout), [
      'would run APIs cloudfunctions.googleapis.com, run.googleapis.com, cloudbuild.googleapis.com, artifactregistry.googleapis.com, eventarc.googleapis.com, pubsub.googleapis.com, cloudscheduler.googleapis.com, datastore.googleapis.com, firestore.googleapis.com, iam.googleapis.com',
      'would run the eventarc.googleapis.com service agent',
      'would run the pubsub.googleapis.com service agent',
      `would run service account ${sa('locks-runtime')}`,
      `would run service account ${sa('locks-worker')}`,
      `would run service account ${sa('locks-build')}`,
      `would run service account ${sa('locks-trigger')}`,
      `would run service account ${sa('locks-scheduler')}`,
      'would run firestore database (default) (Datastore mode)',
      `would run roles/logging.logWriter on project my-project for ${sa('locks-build')}`,
      `would run roles/artifactregistry.writer on project my-project for ${sa('locks-build')}`,
      `would run roles/storage.objectViewer on project my-project for ${sa('locks-build')}`,
      `would run roles/datastore.user on project my-project for ${sa('locks-runtime')}`,
      `would run roles/datastore.user on project my-project for ${sa('locks-worker')}`,
      'would create topic projects/my-project/topics/example-work',
      'would create topic projects/my-project/topics/example-work-dead-letter',
      'would create topic projects/my-project/topics/example-work-retry',
      'would create subscription projects/my-project/subscriptions/example-work-dead-letter-hold',
      `would run roles/pubsub.publisher on topic example-work-retry for ${sa('locks-worker')}`,
      `would run roles/pubsub.publisher on topic example-work-dead-letter for ${sa('locks-worker')}`,
      'would run firebase.json functions.predeploy',
      'would create dist/.deployignore (firebase.json functions.ignore)',
      'would run gcloud functions deploy acquireLock',
      'would run gcloud functions deploy releaseLock',
      'would run gcloud functions deploy renewLock',
      'would run gcloud functions deploy cleanupLocks',
      'would run gcloud functions deploy exampleWorker',
      `would run roles/run.invoker on function cleanupLocks for ${sa('locks-scheduler')}`,
      `would run roles/run.invoker on function exampleWorker for ${sa('locks-trigger')}`,
      "would update the exampleWorker trigger's subscription on projects/my-project/topics/example-work",
      'would create subscription projects/my-project/subscriptions/example-work-retry-push',
      'would run gcloud pubsub topics add-iam-policy-binding example-work-dead-letter --project=my-project',
      'would run gcloud pubsub subscriptions add-iam-policy-binding TRIGGER_SUBSCRIPTION --project=my-project',
      'would run gcloud pubsub subscriptions add-iam-policy-binding example-work-retry-push --project=my-project',
      'would create scheduler job projects/my-project/locations/europe-west1/jobs/cleanup-locks',
    ]);
    assert.match(
      stdout,
      /\n {4}gcloud beta services identity create --service=eventarc\.googleapis\.com --project=my-project --quiet\n/,
    );
    assert.match(
      stdout,
      /--member=serviceAccount:service-PROJECT_NUMBER@gcp-sa-pubsub\.iam\.gserviceaccount\.com --role=roles\/pubsub\.publisher/,
    );
    assert.match(
      stdout,
      /\nwould make 35 calls that change something; 0 resources already up to date\n$/,
    );
  });

  it('--without-example-worker: no worker, no example-work* topic, no Eventarc, no worker or trigger account', async () => {
    const {code, stdout} = await plan('--plan', '--without-example-worker');
    assert.equal(code, 0, stdout);
    assert.match(stdout, /, without the example worker\n/);
    for (const absent of [
      'example-work',
      'exampleWorker',
      'eventarc',
      'locks-worker',
      'locks-trigger',
      'identity create',
      'gcp-sa-pubsub',
      'pubsub.createTopic',
    ])
      assert.ok(!stdout.includes(absent), `${absent} is not in the plan`);
    assert.deepEqual(
      steps(stdout)
        .filter(step => step.startsWith('would run gcloud functions deploy'))
        .map(step => step.split(' ').pop()),
      ['acquireLock', 'releaseLock', 'renewLock', 'cleanupLocks'],
    );
    assert.ok(
      stdout.includes('would create scheduler job'),
      'the cleanup job stays',
    );
  });

  it('a bad argument still exits 2 before anything, and --plan with --vpc-connector and --network is refused', async () => {
    const {code} = await plan(
      '--plan',
      '--vpc-connector',
      'c',
      '--network',
      'default',
    );
    assert.equal(code, 2);
  });
});
