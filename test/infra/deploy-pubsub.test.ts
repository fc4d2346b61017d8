import {strict as assert} from 'node:assert';
import {randomUUID} from 'node:crypto';
import {PubSub} from '@google-cloud/pubsub';
import type {Change} from '../../infra/changes';
import {
  applyWorkerDeliveryPolicy,
  ensureRetrySubscription,
  ensureTopics,
} from '../../infra/deploy/cloud-pubsub';
import {parseDeployArgs} from '../../infra/deploy/deploy-options';
import {functionUrl} from '../../infra/deploy/gcloud-commands';
import {invokerGrant} from '../../infra/deploy/iam-grants';
import {
  DEAD_LETTER_HOLD_SUBSCRIPTION,
  DEAD_LETTER_TOPIC,
  RETRY_SUBSCRIPTION,
  RETRY_TOPIC,
  WORK_TOPIC,
  WORKER_DELIVERY,
} from '../../infra/topology';
import {gcloudOffline} from '../support/gcloud-offline';

/**
 * The deploy's Pub/Sub part against the emulator (PUBSUB_EMULATOR_HOST, from the global fixture),
 * each test in a project of its own. Idempotence is measured: the second run reports nothing but
 * `unchanged`.
 */
describe('infra: deploy, the Pub/Sub part, on the emulator', () => {
  let pubsub: PubSub;
  let project: string;
  beforeEach(() => {
    project = `deploy-${randomUUID().slice(0, 8)}`;
    pubsub = new PubSub({projectId: project});
  });
  afterEach(() => pubsub.close());

  it('a dry run reports the topics and the dead-letter subscription it would create, and creates nothing', async () => {
    const changes = await ensureTopics(pubsub, {dryRun: true});
    assert.deepEqual(
      changes.map(({action, resource}) => [action, resource]),
      [
        ['create', `topic projects/${project}/topics/${WORK_TOPIC}`],
        ['create', `topic projects/${project}/topics/${DEAD_LETTER_TOPIC}`],
        ['create', `topic projects/${project}/topics/${RETRY_TOPIC}`],
        [
          'create',
          `subscription projects/${project}/subscriptions/${DEAD_LETTER_HOLD_SUBSCRIPTION}`,
        ],
      ],
    );
    const [topics] = await pubsub.getTopics();
    assert.deepEqual(topics, []);
    const policy = await applyWorkerDeliveryPolicy(pubsub, undefined, {
      dryRun: true,
    });
    assert.equal(policy.action, 'update');
    assert.match(policy.call, /once gcloud has created it/);
  });

  it('run twice: the first creates, the second changes nothing', async () => {
    const first = await ensureTopics(pubsub, {dryRun: false});
    assert.deepEqual(
      first.map(change => change.action),
      ['create', 'create', 'create', 'create'],
    );
    const second = await ensureTopics(pubsub, {dryRun: false});
    assert.deepEqual(
      second.map(change => change.action),
      ['unchanged', 'unchanged', 'unchanged', 'unchanged'],
    );
    const [metadata] = await pubsub
      .subscription(DEAD_LETTER_HOLD_SUBSCRIPTION)
      .getMetadata();
    assert.equal(
      metadata.topic,
      `projects/${project}/topics/${DEAD_LETTER_TOPIC}`,
    );
  });

  it("only the worker trigger's subscription (the one Eventarc names) gets the retry and dead-letter policy; a foreign subscription on the work topic is left exactly as it was", async () => {
    await ensureTopics(pubsub, {dryRun: false});
    const endpoint =
      'https://example-worker-abc-ew.a.run.app/?__GCP_CloudEventsMode=CUSTOM_PUBSUB_projects%2Fp%2Ftopics%2Fexample-work';
    // What `gcloud functions deploy --trigger-topic` leaves: a push subscription without our policy.
    const eventarcIdentity = {
      serviceAccountEmail: `locks-trigger@${project}.iam.gserviceaccount.com`,
      audience: 'https://example-worker-abc-ew.a.run.app',
    };
    const trigger = 'eventarc-europe-west1-exampleworker-123-sub-456';
    await pubsub.topic(WORK_TOPIC).createSubscription(trigger, {
      pushConfig: {pushEndpoint: endpoint, oidcToken: eventarcIdentity},
      ackDeadlineSeconds: 600,
    });
    // Another team's subscription on the same topic: a pull subscription with its own, different policy.
    const foreign = 'audit-log-pull';
    await pubsub.topic(WORK_TOPIC).createSubscription(foreign, {
      ackDeadlineSeconds: 30,
      retryPolicy: {
        minimumBackoff: {seconds: 5},
        maximumBackoff: {seconds: 300},
      },
    });
    const [foreignBefore] = await pubsub.subscription(foreign).getMetadata();

    const reported: Change[] = [];
    const dry = await applyWorkerDeliveryPolicy(pubsub, trigger, {
      dryRun: true,
      report: change => reported.push(change),
    });
    assert.equal(dry.action, 'update');
    assert.equal(
      dry.resource,
      `subscription projects/${project}/subscriptions/${trigger}`,
    );
    assert.deepEqual(reported, [dry]);
    assert.equal(
      (await applyWorkerDeliveryPolicy(pubsub, trigger, {dryRun: false}))
        .action,
      'update',
    );
    assert.equal(
      (await applyWorkerDeliveryPolicy(pubsub, trigger, {dryRun: false}))
        .action,
      'unchanged',
    );

    const [metadata] = await pubsub.subscription(trigger).getMetadata();
    assert.equal(metadata.pushConfig?.pushEndpoint, endpoint);
    assert.deepEqual(
      {...metadata.pushConfig?.oidcToken},
      eventarcIdentity,
      "Eventarc's push identity is kept",
    );
    assert.equal(Number(metadata.ackDeadlineSeconds), 600);
    assert.equal(
      Number(metadata.retryPolicy?.minimumBackoff?.seconds),
      WORKER_DELIVERY.minimumBackoffSeconds,
    );
    assert.equal(
      Number(metadata.retryPolicy?.maximumBackoff?.seconds),
      WORKER_DELIVERY.maximumBackoffSeconds,
    );
    assert.equal(
      metadata.deadLetterPolicy?.deadLetterTopic,
      `projects/${project}/topics/${DEAD_LETTER_TOPIC}`,
    );
    assert.equal(
      metadata.deadLetterPolicy?.maxDeliveryAttempts,
      WORKER_DELIVERY.maxDeliveryAttempts,
    );

    const [foreignAfter] = await pubsub.subscription(foreign).getMetadata();
    assert.deepEqual(
      JSON.parse(JSON.stringify(foreignAfter)),
      JSON.parse(JSON.stringify(foreignBefore)),
      'the foreign subscription is unchanged',
    );
    assert.equal(
      foreignAfter.deadLetterPolicy,
      null,
      'no dead-letter policy was put on the foreign subscription',
    );
  });

  it("the worker's retry subscription: on the retry topic, pushing to the worker with an OIDC identity and the delivery policy; a second run changes nothing", async () => {
    await ensureTopics(pubsub, {dryRun: false});
    const options = parseDeployArgs([
      '--project',
      project,
      '--region',
      'europe-west1',
    ]);
    const workerUrl = functionUrl(options, 'exampleWorker');
    const pushAuth = {
      serviceAccountEmail: options.triggerServiceAccount,
      audience: workerUrl,
    };
    const dry = await ensureRetrySubscription(
      pubsub,
      project,
      workerUrl,
      pushAuth,
      {dryRun: true},
    );
    assert.equal(dry.action, 'create');
    assert.match(
      dry.call,
      new RegExp(
        `"oidcToken":\\{"serviceAccountEmail":"locks-trigger@${project}\\.iam\\.gserviceaccount\\.com"`,
      ),
    );
    assert.equal(
      (
        await ensureRetrySubscription(pubsub, project, workerUrl, pushAuth, {
          dryRun: false,
        })
      ).action,
      'create',
    );
    assert.equal(
      (
        await ensureRetrySubscription(pubsub, project, workerUrl, pushAuth, {
          dryRun: false,
        })
      ).action,
      'unchanged',
    );

    const [metadata] = await pubsub
      .subscription(RETRY_SUBSCRIPTION)
      .getMetadata();
    assert.equal(metadata.topic, `projects/${project}/topics/${RETRY_TOPIC}`);
    assert.equal(
      metadata.pushConfig?.pushEndpoint,
      `${workerUrl}/projects/${project}/topics/${RETRY_TOPIC}`,
    );
    assert.deepEqual({...metadata.pushConfig?.oidcToken}, pushAuth);
    assert.equal(
      Number(metadata.retryPolicy?.minimumBackoff?.seconds),
      WORKER_DELIVERY.minimumBackoffSeconds,
    );
    assert.equal(
      metadata.deadLetterPolicy?.deadLetterTopic,
      `projects/${project}/topics/${DEAD_LETTER_TOPIC}`,
    );
    const [onWorkTopic] = await pubsub.topic(WORK_TOPIC).getSubscriptions();
    assert.deepEqual(
      onWorkTopic,
      [],
      'nothing of the retry path is on the work topic',
    );

    // A changed identity is an update of the push config, in place.
    const moved = await ensureRetrySubscription(
      pubsub,
      project,
      workerUrl,
      {...pushAuth, serviceAccountEmail: 'other@p.iam.gserviceaccount.com'},
      {dryRun: false},
    );
    assert.equal(moved.action, 'update');
    const [after] = await pubsub.subscription(RETRY_SUBSCRIPTION).getMetadata();
    assert.equal(
      after.pushConfig?.oidcToken?.serviceAccountEmail,
      'other@p.iam.gserviceaccount.com',
    );
  });

  it("the grant that lets the retry subscription's identity (the trigger's) invoke the worker is a gcloud line gcloud accepts", async function () {
    this.timeout(60_000);
    const options = parseDeployArgs([
      '--project',
      'my-project',
      '--region',
      'europe-west1',
    ]);
    const {args} = invokerGrant(
      options,
      'exampleWorker',
      options.triggerServiceAccount,
    );
    assert.deepEqual(args.slice(0, 3), [
      'functions',
      'add-invoker-policy-binding',
      'exampleWorker',
    ]);
    assert.ok(
      args.includes(
        '--member=serviceAccount:locks-trigger@my-project.iam.gserviceaccount.com',
      ),
    );
    const checked = await gcloudOffline(args);
    assert.equal(
      checked.code,
      1,
      `gcloud ${args.join(' ')}\n${checked.output}`,
    );
    assert.match(checked.output, /active account/);
    assert.equal(
      (await gcloudOffline([...args, '--no-such-flag'])).code,
      2,
      'a bad flag is caught',
    );
  });
});
