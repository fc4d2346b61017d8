import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { CloudSchedulerClient } from '@google-cloud/scheduler';
import sinon from 'sinon';
import type { Change } from '../../infra/changes';
import { deploy } from '../../infra/deploy/deploy';
import { parseDeployArgs } from '../../infra/deploy/deploy-options';
import { readFunctionsSource } from '../../infra/firebase-config';

const REPO = join(__dirname, '../../..');

/** The whole deploy with --dry-run: Pub/Sub on the emulator, Scheduler stubbed, commands recorded and never run. */
describe('infra: npm run deploy -- --dry-run', () => {
  it('reports every call in order, from firebase.json, and changes nothing', async () => {
    const project = `dry-${randomUUID().slice(0, 8)}`;
    const options = parseDeployArgs(['--project', project, '--region', 'europe-west1', '--dry-run']);
    const pubsub = new PubSub({ projectId: project });
    const scheduler = sinon.createStubInstance(CloudSchedulerClient);
    scheduler.getJob.rejects(Object.assign(new Error('not found'), { code: 5 }));
    const run = sinon.stub().rejects(new Error('a dry run must not run commands'));
    const projectNumber = sinon.stub().resolves('123456789');
    const reported: Change[] = [];
    try {
      const changes = await deploy(options, readFunctionsSource(join(REPO, 'firebase.json')), { pubsub, scheduler, run, projectNumber }, (change) => reported.push(change));
      assert.deepEqual(reported, changes, 'every change is reported as it is planned');
      assert.deepEqual(
        changes.map((change) => change.resource.split(' ').slice(0, 4).join(' ')),
        [
          `topic projects/${project}/topics/example-work`,
          `topic projects/${project}/topics/example-work-dead-letter`,
          `topic projects/${project}/topics/example-work-retry`,
          `subscription projects/${project}/subscriptions/example-work-dead-letter-hold`,
          'firebase.json functions.predeploy',
          'dist/.deployignore (firebase.json functions.ignore)',
          'gcloud functions deploy acquireLock',
          'gcloud functions deploy releaseLock',
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
      const callOf = (resource: string) => changes.find((change) => change.resource.startsWith(resource))?.call ?? '';
      assert.match(callOf('firebase.json functions.predeploy'), /^sh -c 'npm --prefix "\$RESOURCE_DIR" run build'$/);
      assert.match(callOf('gcloud pubsub topics add-iam-policy-binding'), /example-work-dead-letter .*--member=serviceAccount:service-123456789@gcp-sa-pubsub\.iam\.gserviceaccount\.com --role=roles\/pubsub\.publisher/);
      // The worker's retry subscription pushes to the private worker as the trigger's identity, which may invoke it.
      const retryPush = callOf(`subscription projects/${project}/subscriptions/example-work-retry-push`);
      assert.match(retryPush, new RegExp(`"pushEndpoint":"https://europe-west1-${project}\\.cloudfunctions\\.net/exampleWorker/projects/${project}/topics/example-work-retry"`));
      assert.match(retryPush, /"oidcToken":\{"serviceAccountEmail":"123456789-compute@developer\.gserviceaccount\.com","audience":"https:\/\/europe-west1-[a-z0-9-]+\.cloudfunctions\.net\/exampleWorker"\}/);
      assert.match(callOf('gcloud functions add-invoker-policy-binding exampleWorker'), /--member=serviceAccount:123456789-compute@developer\.gserviceaccount\.com/);
      sinon.assert.notCalled(run);
      sinon.assert.notCalled(scheduler.createJob);
      const [topics] = await pubsub.getTopics();
      assert.deepEqual(topics, [], 'nothing was created');
    } finally {
      await pubsub.close();
    }
  });

  it('bad arguments: usage on stderr, exit 2, before any call', () => {
    const result = spawnSync(process.execPath, [join(REPO, 'dist/infra/deploy/main.js'), '--region', 'europe-west1'], { encoding: 'utf8' });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /--project and --region are required\nusage: npm run deploy -- --project PROJECT --region REGION/);
  });
});
