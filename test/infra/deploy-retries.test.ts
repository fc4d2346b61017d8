import {strict as assert} from 'node:assert';
import {randomUUID} from 'node:crypto';
import {join} from 'node:path';
import {PubSub} from '@google-cloud/pubsub';
import {CloudSchedulerClient} from '@google-cloud/scheduler';
import sinon from 'sinon';
import {
  CommandFailedError,
  EVENTARC_AGENT,
  FRESH_GRANT,
  NEW_IDENTITY,
  retryBudgetMs,
  runCommand,
  withRetries,
} from '../../infra/deploy/command-retry';
import {parseDeployArgs} from '../../infra/deploy/deploy-options';
import type {GcloudRunner} from '../../infra/deploy/gcloud-runner';
import {
  fakeGcloud,
  readyProject,
  type FakeProject,
  deployToFake,
} from './fake-project';

const REPO = join(__dirname, '../../..');
const EVENTARC_DENIED =
  'ERROR: (gcloud.functions.deploy) OperationError: code=7, message=Creating trigger failed for projects/p/locations/europe-west1/triggers/exampleworker-1: Permission denied while using the Eventarc Service Agent. If you recently started to use Eventarc, it may take a few minutes before all necessary permissions are propagated to the Service Agent.';
const BUILD_DENIED =
  'ERROR: (gcloud.functions.deploy) OperationError: code=3, message=Build failed: PERMISSION_DENIED: locks-build@p.iam.gserviceaccount.com does not have permission to write logs';
const AGENT_MISSING =
  'ERROR: (gcloud.pubsub.topics.add-iam-policy-binding) INVALID_ARGUMENT: Service account service-123456789@gcp-sa-pubsub.iam.gserviceaccount.com does not exist.';

/**
 * What a fresh project does for its first minutes, injected: the Eventarc agent's permissions, a
 * build account's roles and the Pub/Sub agent not there yet. Each is retried with its own bounded
 * waits (a fake sleep records them), said on the output; anything else fails at once.
 */
describe('infra: deploy retries while IAM propagates', () => {
  const failed = (output: string) =>
    new CommandFailedError('gcloud', ['x'], 1, output);

  it('the Eventarc agent error: retried with backoff until it clears, each retry said', async () => {
    const slept: number[] = [];
    const said: string[] = [];
    let calls = 0;
    await withRetries(
      'gcloud functions deploy exampleWorker',
      [EVENTARC_AGENT, FRESH_GRANT],
      async () => {
        if (++calls <= 3) throw failed(EVENTARC_DENIED);
      },
      async ms => void slept.push(ms),
      line => said.push(line),
    );
    assert.equal(calls, 4);
    assert.deepEqual(slept, [15_000, 30_000, 60_000]);
    assert.equal(
      said[0],
      "gcloud functions deploy exampleWorker: the Eventarc service agent's permissions are still propagating; retrying in 15 s (retry 1 of 7)",
    );
  });

  it('an error that does not clear ends within its bound (EVENTARC_AGENT: 5 min 45 s of waits), saying it gives up', async () => {
    const slept: number[] = [];
    const said: string[] = [];
    let calls = 0;
    const error = failed(EVENTARC_DENIED);
    await assert.rejects(
      withRetries(
        'deploy',
        [EVENTARC_AGENT, FRESH_GRANT],
        async () => {
          calls++;
          throw error;
        },
        async ms => void slept.push(ms),
        line => said.push(line),
      ),
      (thrown: unknown) => thrown === error,
    );
    assert.equal(calls, EVENTARC_AGENT.delaysMs.length + 1);
    assert.equal(
      slept.reduce((a, b) => a + b, 0),
      retryBudgetMs([EVENTARC_AGENT]),
    );
    assert.equal(retryBudgetMs([EVENTARC_AGENT]), 345_000);
    assert.match(
      said.at(-1) ?? '',
      /still failing after 7 retries over 345 s .*; giving up$/,
    );
  });

  it('a failure no rule names is not retried', async () => {
    const sleep = sinon.fake.resolves(undefined);
    let calls = 0;
    await assert.rejects(
      withRetries(
        'deploy',
        [EVENTARC_AGENT, FRESH_GRANT],
        async () => {
          calls++;
          throw failed(
            'ERROR: (gcloud.functions.deploy) INVALID_ARGUMENT: bad runtime',
          );
        },
        sleep,
        () => {},
      ),
      /exited 1/,
    );
    assert.equal(calls, 1);
    sinon.assert.notCalled(sleep);
  });

  it("the real runner's failure carries gcloud's output, which the rules read", async () => {
    const error = await runCommand(
      'sh',
      ['-c', `echo '${EVENTARC_DENIED.replace(/'/g, '')}' >&2; exit 1`],
      REPO,
    ).catch((thrown: unknown) => thrown);
    assert.ok(error instanceof CommandFailedError);
    assert.equal(error.code, 1);
    assert.ok(EVENTARC_AGENT.matches.test(error.output), error.output);
  });

  describe('through the whole deploy, on a fresh project (Pub/Sub on the emulator)', () => {
    let project: string;
    let pubsub: PubSub;
    let scheduler: sinon.SinonStubbedInstance<CloudSchedulerClient>;
    beforeEach(() => {
      project = `retry-${randomUUID().slice(0, 8)}`;
      pubsub = new PubSub({projectId: project});
      scheduler = sinon.createStubInstance(CloudSchedulerClient);
      scheduler.getJob.rejects(
        Object.assign(new Error('not found'), {code: 5}),
      );
    });
    afterEach(() => pubsub.close());

    /** Fails the commands `faults` names (by a test on the command line) with their output, each as many times as listed. */
    function runFailing(
      state: FakeProject,
      faults: {
        when: (args: string[]) => boolean;
        output: string;
        times: number;
      }[],
    ): sinon.SinonStub {
      return sinon
        .stub()
        .callsFake(async (_command: string, args: string[]) => {
          const fault = faults.find(
            candidate => candidate.times > 0 && candidate.when(args),
          );
          if (fault) {
            fault.times--;
            throw new CommandFailedError('gcloud', args, 1, fault.output);
          }
          if (args[0] === 'iam' && args[2] === 'create')
            state.accounts.add(`${args[3]}@${project}.iam.gserviceaccount.com`);
        });
    }

    /** As Eventarc does: the worker's trigger and its subscription exist once its deploy succeeded. */
    function workerOnDeploy(
      state: FakeProject,
      run: sinon.SinonStub,
    ): GcloudRunner {
      const reads = fakeGcloud(state);
      return async args => {
        const deployed = run
          .getCalls()
          .some(
            (call, i) =>
              (call.args[1] as string[])[2] === 'exampleWorker' &&
              (call.args[1] as string[])[1] === 'deploy' &&
              !run.getCall(i).threw(),
          );
        if (deployed && !state.worker) {
          state.worker = {
            trigger: `projects/${project}/locations/europe-west1/triggers/exampleworker-1`,
            subscription: 'eventarc-europe-west1-exampleworker-1-sub-2',
          };
          await pubsub.createTopic('example-work').catch(() => {});
          await pubsub
            .topic('example-work')
            .createSubscription(state.worker.subscription, {
              pushConfig: {pushEndpoint: 'https://worker.example/'},
            });
        }
        return reads(args);
      };
    }

    function deployFresh(
      run: sinon.SinonStub,
      state: FakeProject,
      slept: number[],
      said: string[],
    ) {
      const options = parseDeployArgs([
        '--project',
        project,
        '--region',
        'europe-west1',
      ]);
      return deployToFake(options, state, {
        pubsub,
        scheduler,
        run,
        gcloud: workerOnDeploy(state, run),
        sleep: async ms => void slept.push(ms),
        say: line => said.push(line),
      });
    }

    it("the Eventarc agent, the build account's roles and the Pub/Sub agent not propagated yet: each retried, the deploy completes", async () => {
      const options = parseDeployArgs([
        '--project',
        project,
        '--region',
        'europe-west1',
      ]);
      const state = readyProject(options, {
        accounts: new Set(),
        database: undefined,
      });
      const run = runFailing(state, [
        {
          when: args => args[1] === 'deploy' && args[2] === 'acquireLock',
          output: BUILD_DENIED,
          times: 1,
        },
        {
          when: args => args[1] === 'deploy' && args[2] === 'exampleWorker',
          output: EVENTARC_DENIED,
          times: 2,
        },
        {
          when: args => args.some(arg => arg.includes('@gcp-sa-pubsub.')),
          output: AGENT_MISSING,
          times: 1,
        },
      ]);
      const slept: number[] = [];
      const said: string[] = [];
      await deployFresh(run, state, slept, said);
      assert.deepEqual(slept, [10_000, 15_000, 30_000, 5_000]);
      assert.deepEqual(
        said.map(line => line.replace(/; retrying.*/, '')),
        [
          'gcloud functions deploy acquireLock: a role granted moments ago has not propagated yet',
          "gcloud functions deploy exampleWorker: the Eventarc service agent's permissions are still propagating",
          "gcloud functions deploy exampleWorker: the Eventarc service agent's permissions are still propagating",
          `gcloud pubsub topics add-iam-policy-binding example-work-dead-letter --project=${project}: IAM does not see an account or service agent made moments ago yet`,
        ],
      );
      sinon.assert.called(scheduler.createJob);
    });

    it('a permission error that does not clear on a function deploy fails the deploy after 90 s of waits; nothing after it runs', async () => {
      const options = parseDeployArgs([
        '--project',
        project,
        '--region',
        'europe-west1',
      ]);
      const state = readyProject(options);
      const run = runFailing(state, [
        {
          when: args => args[1] === 'deploy' && args[2] === 'releaseLock',
          output: BUILD_DENIED,
          times: 99,
        },
      ]);
      const slept: number[] = [];
      const said: string[] = [];
      await assert.rejects(
        deployFresh(run, state, slept, said),
        CommandFailedError,
      );
      assert.equal(
        slept.reduce((a, b) => a + b, 0),
        retryBudgetMs([FRESH_GRANT]),
      );
      assert.equal(retryBudgetMs([FRESH_GRANT]), 90_000);
      const deploys = run
        .getCalls()
        .map(call => call.args[1] as string[])
        .filter(args => args[1] === 'deploy')
        .map(args => args[2]);
      assert.deepEqual(deploys, [
        'acquireLock',
        ...Array(5).fill('releaseLock'),
      ]);
      sinon.assert.notCalled(scheduler.createJob);
    });

    it('a grant to an account that already existed is not retried (a real refusal, said at once)', async () => {
      const options = parseDeployArgs([
        '--project',
        project,
        '--region',
        'europe-west1',
      ]);
      const state = readyProject(options);
      const run = runFailing(state, [
        {
          when: args =>
            args[1] === 'add-iam-policy-binding' &&
            args.includes('--role=roles/datastore.user'),
          output: 'ERROR: PERMISSION_DENIED: Policy update access denied.',
          times: 99,
        },
      ]);
      const slept: number[] = [];
      await assert.rejects(
        deployFresh(run, state, slept, []),
        CommandFailedError,
      );
      assert.deepEqual(slept, []);
      assert.equal(retryBudgetMs([NEW_IDENTITY]), 65_000);
    });
  });
});
