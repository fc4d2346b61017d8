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
import {
  listAllows,
  locationMatches,
  READ_CONSTRAINTS,
  type PolicyRule,
} from '../../infra/deploy/org-policies';
import {PreflightError} from '../../infra/deploy/preflight';
import {
  fakeGcloud,
  readyProject,
  type FakeProject,
  deployToFake,
} from './fake-project';

/**
 * Organisation policies, read by the preflight with `gcloud org-policies describe --effective`
 * (answered by the stubbed project): one that would stop the deploy half-way stops it before any
 * change, naming the policy and the step; one it cannot judge is a note, and the deploy goes on.
 */
describe('infra: deploy preflight, organisation policies', () => {
  let project: string;
  let pubsub: PubSub;
  let scheduler: sinon.SinonStubbedInstance<CloudSchedulerClient>;
  let run: sinon.SinonStub;
  beforeEach(() => {
    project = `pol-${randomUUID().slice(0, 8)}`;
    pubsub = new PubSub({projectId: project});
    scheduler = sinon.createStubInstance(CloudSchedulerClient);
    scheduler.getJob.rejects(Object.assign(new Error('not found'), {code: 5}));
    run = sinon
      .stub()
      .rejects(new Error('the preflight must stop before any command runs'));
  });
  afterEach(() => pubsub.close());

  const optionsFor = (...argv: string[]): DeployOptions =>
    parseDeployArgs([
      '--project',
      project,
      '--region',
      'europe-west1',
      ...argv,
    ]);

  function deployTo(
    options: DeployOptions,
    state: FakeProject,
    calls: string[][] = [],
    said: string[] = [],
  ): Promise<Change[]> {
    return deployToFake(options, state, {
      pubsub,
      scheduler,
      run,
      gcloud: fakeGcloud(state, calls),
      say: line => said.push(line),
    });
  }

  async function stopsWith(deploying: Promise<Change[]>, lines: RegExp[]) {
    await assert.rejects(deploying, (error: unknown) => {
      assert.ok(error instanceof PreflightError, String(error));
      assert.equal(error.problems.length, lines.length, error.message);
      lines.forEach((line, i) => assert.match(error.problems[i] ?? '', line));
      return true;
    });
    sinon.assert.notCalled(run);
    sinon.assert.notCalled(scheduler.createJob);
    const [topics] = await pubsub.getTopics();
    assert.deepEqual(topics, [], 'nothing was created');
  }

  const enforce: PolicyRule[] = [{enforce: true}];

  it('reads each constraint with describe --effective, read-only, and passes when none is set', async () => {
    const options = optionsFor('--dry-run');
    const calls: string[][] = [];
    await deployTo(options, readyProject(options), calls);
    const reads = calls.filter(args => args[0] === 'org-policies');
    assert.deepEqual(
      reads.map(args => args[2]),
      READ_CONSTRAINTS,
    );
    for (const args of reads)
      assert.deepEqual(args.slice(3), [
        '--effective',
        `--project=${project}`,
        '--format=json',
      ]);
    assert.ok(
      READ_CONSTRAINTS.includes('iam.managed.disableServiceAccountCreation'),
    );
  });

  it('iam.disableServiceAccountCreation (and its managed form) stops a deploy that must create accounts, and only then', async () => {
    for (const constraint of [
      'iam.disableServiceAccountCreation',
      'iam.managed.disableServiceAccountCreation',
    ]) {
      const options = optionsFor();
      const state = readyProject(options, {
        orgPolicies: {[constraint]: enforce},
      });
      state.accounts.delete(`locks-build@${project}.iam.gserviceaccount.com`);
      await stopsWith(deployTo(options, state), [
        new RegExp(
          `^organization policy ${constraint.replace(/\./g, '\\.')} forbids creating service accounts, and 1 are missing: have an administrator create them`,
        ),
      ]);
    }
    const options = optionsFor('--dry-run');
    const state = readyProject(options, {
      orgPolicies: {'iam.disableServiceAccountCreation': enforce},
    });
    await deployTo(options, state);
  });

  it('gcp.resourceLocations: a region outside the allowed group stops the deploy; inside it, it goes on', async () => {
    const options = optionsFor();
    const usOnly = readyProject(options, {
      orgPolicies: {
        'gcp.resourceLocations': [
          {values: {allowedValues: ['in:us-locations']}},
        ],
      },
    });
    await stopsWith(deployTo(options, usOnly), [
      /^organization policy gcp\.resourceLocations does not allow europe-west1: the functions, in region europe-west1 would be refused/,
    ]);
    const eu = readyProject(options, {
      orgPolicies: {
        'gcp.resourceLocations': [
          {values: {allowedValues: ['in:eu-locations']}},
        ],
      },
    });
    await deployTo(optionsFor('--dry-run'), eu);
  });

  it('a database location the policy refuses stops the deploy too', async () => {
    const options = optionsFor(
      '--database',
      'locks',
      '--database-location',
      'nam5',
    );
    const state = readyProject(options, {
      database: undefined,
      orgPolicies: {
        'gcp.resourceLocations': [
          {
            values: {
              allowedValues: ['in:europe-west1-locations', 'in:eu-locations'],
            },
          },
        ],
      },
    });
    await stopsWith(deployTo(options, state), [
      /does not allow nam5: the database, in nam5 would be refused; deploy to an allowed --region \(and --database-location\)$/,
    ]);
  });

  it('Cloud Functions and Cloud Run constraints the deploy would break: each named', async () => {
    const options = optionsFor();
    const state = readyProject(options, {
      orgPolicies: {
        'cloudfunctions.restrictAllowedGenerations': [
          {values: {allowedValues: ['GEN_1']}},
        ],
        'cloudfunctions.allowedIngressSettings': [
          {values: {allowedValues: ['ALLOW_INTERNAL_ONLY']}},
        ],
        'run.allowedIngress': [{values: {allowedValues: ['internal']}}],
        'cloudfunctions.requireVPCConnector': enforce,
        'gcp.restrictServiceUsage': [
          {values: {deniedValues: ['cloudscheduler.googleapis.com']}},
        ],
      },
    });
    await stopsWith(deployTo(options, state), [
      /^organization policy gcp\.restrictServiceUsage does not allow cloudscheduler\.googleapis\.com/,
      /^organization policy cloudfunctions\.restrictAllowedGenerations does not allow GEN_2/,
      /^organization policy cloudfunctions\.allowedIngressSettings does not allow ALLOW_ALL/,
      /^organization policy run\.allowedIngress does not allow "all"/,
      /^organization policy cloudfunctions\.requireVPCConnector requires a Serverless VPC Access connector: deploy with --vpc-connector CONNECTOR$/,
    ]);
  });

  it('a stopping policy stops even --enable-apis before it enables anything', async () => {
    const options = optionsFor('--enable-apis');
    const state = readyProject(options, {
      orgPolicies: {
        'cloudfunctions.restrictAllowedGenerations': [
          {values: {allowedValues: ['GEN_1']}},
        ],
      },
    });
    state.enabledApis.clear();
    await stopsWith(deployTo(options, state), [
      /^organization policy cloudfunctions\.restrictAllowedGenerations does not allow GEN_2/,
    ]);
  });

  it('VPC egress constraints apply only to a deploy with a connector or Direct VPC', async () => {
    const egress = {
      'cloudfunctions.allowedVpcConnectorEgressSettings': [
        {values: {allowedValues: ['ALL_TRAFFIC']}},
      ],
      'run.allowedVPCEgress': [{values: {allowedValues: ['all-traffic']}}],
    };
    await deployTo(
      optionsFor('--dry-run'),
      readyProject(optionsFor(), {orgPolicies: egress}),
    );
    const options = optionsFor('--vpc-connector', 'c');
    await stopsWith(
      deployTo(options, readyProject(options, {orgPolicies: egress})),
      [
        /^organization policy cloudfunctions\.allowedVpcConnectorEgressSettings does not allow PRIVATE_RANGES_ONLY/,
        /^organization policy run\.allowedVPCEgress does not allow private-ranges-only/,
      ],
    );
  });

  it('policies that cannot be read, or that it cannot judge: a note on the output, and the deploy goes on', async () => {
    const options = optionsFor('--dry-run');
    const said: string[] = [];
    const calls: string[][] = [];
    await deployTo(
      options,
      readyProject(options, {
        orgPolicies: {'iam.disableServiceAccountCreation': 'unreadable'},
      }),
      calls,
      said,
    );
    assert.equal(
      calls.filter(args => args[0] === 'org-policies').length,
      1,
      'one failed read ends the reading',
    );
    assert.match(
      said[0] ?? '',
      /^note: could not read organization policies .*PERMISSION_DENIED.*the preflight cannot tell whether one stops the deploy/,
    );
    const judged: string[] = [];
    await deployTo(
      options,
      readyProject(options, {
        orgPolicies: {
          'gcp.resourceLocations': [
            {values: {allowedValues: ['in:emea-locations']}},
          ],
          'iam.allowedPolicyMemberDomains': [
            {values: {allowedValues: ['C0abc123']}},
          ],
        },
      }),
      [],
      judged,
    );
    assert.deepEqual(
      judged.map(line => line.slice(0, 62)),
      [
        'note: organization policy gcp.resourceLocations restricts loca',
        'note: organization policy iam.allowedPolicyMemberDomains (doma',
      ],
    );
  });

  it('list rules: denied beats allowed, allowAll and denyAll, conditional rules cannot be judged', () => {
    assert.equal(listAllows([], 'x'), true);
    assert.equal(listAllows([{denyAll: true}], 'x'), false);
    assert.equal(listAllows([{allowAll: true}], 'x'), true);
    assert.equal(listAllows([{values: {allowedValues: ['a']}}], 'b'), false);
    assert.equal(listAllows([{values: {allowedValues: ['b']}}], 'b'), true);
    assert.equal(listAllows([{values: {deniedValues: ['b']}}], 'b'), false);
    assert.equal(listAllows([{values: {deniedValues: ['b']}}], 'c'), true);
    assert.equal(
      listAllows([{condition: {expression: 'x'}, denyAll: true}], 'b'),
      undefined,
    );
    const table: [string, string, boolean | undefined][] = [
      ['europe-west1', 'europe-west1', true],
      ['in:europe-west1-locations', 'europe-west1', true],
      ['in:europe-west4-locations', 'europe-west1', false],
      ['in:eu-locations', 'europe-west1', true],
      ['in:eu-locations', 'eur3', true],
      ['in:eu-locations', 'us-central1', false],
      ['in:us-locations', 'nam5', true],
      ['in:emea-locations', 'europe-west1', undefined],
      ['under:in:asia-locations', 'asia-east1', true],
    ];
    for (const [item, location, expected] of table)
      assert.equal(
        locationMatches(item, location),
        expected,
        `${item} ${location}`,
      );
  });
});
