import {strict as assert} from 'node:assert';
import {CloudSchedulerClient, protos} from '@google-cloud/scheduler';
import sinon from 'sinon';
import type {Change} from '../../infra/changes';
import {parseDeployArgs} from '../../infra/deploy/deploy-options';
import {cleanupJob, ensureSchedulerJob} from '../../infra/deploy/scheduler-job';

const Job = protos.google.cloud.scheduler.v1.Job;
const options = parseDeployArgs([
  '--project',
  'my-project',
  '--region',
  'europe-west1',
]);
const NAME = 'projects/my-project/locations/europe-west1/jobs/cleanup-locks';

/** No Cloud Scheduler emulator exists: a stubbed client, and job objects checked against the API's own schema. */
describe('infra: the cleanupLocks Cloud Scheduler job', () => {
  it('is a valid Job: every minute, POST to cleanupLocks with an OIDC token for the named account', () => {
    const job = cleanupJob(options);
    assert.equal(Job.verify(job), null);
    assert.equal(job.name, NAME);
    assert.equal(job.schedule, '* * * * *');
    assert.equal(
      job.httpTarget?.uri,
      'https://europe-west1-my-project.cloudfunctions.net/cleanupLocks',
    );
    assert.equal(
      job.httpTarget?.httpMethod,
      protos.google.cloud.scheduler.v1.HttpMethod.POST,
    );
    assert.deepEqual(job.httpTarget?.oidcToken, {
      serviceAccountEmail: 'locks-scheduler@my-project.iam.gserviceaccount.com',
      audience: job.httpTarget?.uri,
    });
  });

  it('missing: created under its location (get, then create)', async () => {
    const client = stubClient();
    client.getJob.rejects(
      Object.assign(new Error('5 NOT_FOUND: Job not found'), {code: 5}),
    );
    const change = await ensureSchedulerJob(client, cleanupJob(options), {
      dryRun: false,
    });
    assert.equal(change.action, 'create');
    sinon.assert.calledOnce(client.createJob);
    const created = client.createJob.firstCall.args[0] as {
      parent: string;
      job: protos.google.cloud.scheduler.v1.IJob;
    };
    assert.equal(created.parent, 'projects/my-project/locations/europe-west1');
    assert.equal(Job.verify(created.job), null);
    sinon.assert.notCalled(client.updateJob);
  });

  it('present and the same, as the API answers it (enum names, bytes): unchanged, no write', async () => {
    const client = stubClient();
    client.getJob.resolves([asTheApiAnswers(cleanupJob(options))] as never);
    const change = await ensureSchedulerJob(client, cleanupJob(options), {
      dryRun: false,
    });
    assert.equal(change.action, 'unchanged');
    sinon.assert.notCalled(client.createJob);
    sinon.assert.notCalled(client.updateJob);
  });

  it('present with another schedule or account: updated with the whole job', async () => {
    const client = stubClient();
    const old = asTheApiAnswers(
      cleanupJob({
        ...options,
        schedulerServiceAccount: 'old@my-project.iam.gserviceaccount.com',
      }),
    );
    client.getJob.resolves([{...old, schedule: '0 * * * *'}] as never);
    const change = await ensureSchedulerJob(client, cleanupJob(options), {
      dryRun: false,
    });
    assert.equal(change.action, 'update');
    const updated = client.updateJob.firstCall.args[0] as {
      job: protos.google.cloud.scheduler.v1.IJob;
    };
    assert.equal(Job.verify(updated.job), null);
    assert.equal(updated.job.schedule, '* * * * *');
    sinon.assert.notCalled(client.createJob);
  });

  it('dry run: reports the create it would make, with the job, and writes nothing', async () => {
    const client = stubClient();
    client.getJob.rejects(Object.assign(new Error('not found'), {code: 5}));
    const reported: Change[] = [];
    const change = await ensureSchedulerJob(client, cleanupJob(options), {
      dryRun: true,
      report: c => reported.push(c),
    });
    assert.deepEqual(reported, [change]);
    assert.match(
      change.call,
      /^scheduler\.createJob\(.*"schedule":"\* \* \* \* \*".*"httpMethod":"POST".*"serviceAccountEmail":"locks-scheduler@my-project/,
    );
    sinon.assert.notCalled(client.createJob);
    sinon.assert.notCalled(client.updateJob);
  });

  describe('with LOCKS_API_TOKEN', () => {
    const token = 'locks-api-token-value';

    it('the token travels in X-Locks-Api-Token, beside the OIDC token; without one, no such header', () => {
      const job = cleanupJob(options, token);
      assert.equal(Job.verify(job), null);
      assert.equal(job.httpTarget?.headers?.['X-Locks-Api-Token'], token);
      assert.equal(
        job.httpTarget?.oidcToken?.serviceAccountEmail,
        'locks-scheduler@my-project.iam.gserviceaccount.com',
      );
      assert.equal(
        'X-Locks-Api-Token' in
          (cleanupJob(options, undefined).httpTarget?.headers ?? {}),
        false,
      );
    });

    it("is read from the deploying shell's LOCKS_API_TOKEN by default", () => {
      sinon
        .stub(process, 'env')
        .value({...process.env, LOCKS_API_TOKEN: token});
      try {
        assert.equal(
          cleanupJob(options).httpTarget?.headers?.['X-Locks-Api-Token'],
          token,
        );
      } finally {
        sinon.restore();
      }
    });

    it('a job without the token, or with another one, is updated; the same token (any header case) is unchanged', async () => {
      for (const [present, action] of [
        [cleanupJob(options, undefined), 'update'],
        [cleanupJob(options, 'an-old-token'), 'update'],
        [cleanupJob(options, token), 'unchanged'],
      ] as const) {
        const answered = asTheApiAnswers(present);
        const headers = Object.fromEntries(
          Object.entries(answered.httpTarget?.headers ?? {}).map(
            ([key, value]) => [key.toLowerCase(), value],
          ),
        );
        const client = stubClient();
        client.getJob.resolves([
          {...answered, httpTarget: {...answered.httpTarget, headers}},
        ] as never);
        const change = await ensureSchedulerJob(
          client,
          cleanupJob(options, token),
          {dryRun: false},
        );
        assert.equal(change.action, action);
        if (action === 'update') {
          const updated = client.updateJob.firstCall.args[0] as {
            job: protos.google.cloud.scheduler.v1.IJob;
          };
          assert.equal(
            updated.job.httpTarget?.headers?.['X-Locks-Api-Token'],
            token,
          );
        }
      }
    });

    it('a dry run shows where the token goes, never the token', async () => {
      const client = stubClient();
      client.getJob.rejects(Object.assign(new Error('not found'), {code: 5}));
      const change = await ensureSchedulerJob(
        client,
        cleanupJob(options, token),
        {dryRun: true},
      );
      assert.match(change.call, /"X-Locks-Api-Token":"<LOCKS_API_TOKEN>"/);
      assert.equal(change.call.includes(token), false);
    });
  });

  it('any other error from get is not taken for "missing"', async () => {
    const client = stubClient();
    client.getJob.rejects(
      Object.assign(new Error('7 PERMISSION_DENIED'), {code: 7}),
    );
    await assert.rejects(
      ensureSchedulerJob(client, cleanupJob(options), {dryRun: false}),
      /PERMISSION_DENIED/,
    );
    sinon.assert.notCalled(client.createJob);
  });
});

function stubClient() {
  return sinon.createStubInstance(CloudSchedulerClient);
}

/** The decoded form the client library hands back: enums as names, bytes as a Buffer, durations with string seconds. */
function asTheApiAnswers(
  job: protos.google.cloud.scheduler.v1.IJob,
): protos.google.cloud.scheduler.v1.IJob {
  const message = Job.fromObject(job);
  return Job.toObject(message, {
    enums: String,
    longs: String,
    bytes: Buffer,
  }) as protos.google.cloud.scheduler.v1.IJob;
}
