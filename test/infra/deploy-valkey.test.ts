import {strict as assert} from 'node:assert';
import {randomUUID} from 'node:crypto';
import {join} from 'node:path';
import {PubSub} from '@google-cloud/pubsub';
import {CloudSchedulerClient} from '@google-cloud/scheduler';
import sinon from 'sinon';
import type {Change} from '../../infra/changes';
import {deploy} from '../../infra/deploy/deploy';
import {
  parseDeployArgs,
  UsageError,
  type DeployOptions,
} from '../../infra/deploy/deploy-options';
import {functionDeployCommand} from '../../infra/deploy/gcloud-commands';
import {valkeyGrants} from '../../infra/deploy/iam-grants';
import {planTools} from '../../infra/deploy/offline-plan';
import {
  certificateAuthorityCommand,
  instanceDescribeCommand,
  secretDescribeCommand,
  type ValkeyTarget,
} from '../../infra/deploy/valkey-instance';
import {FUNCTIONS, type FunctionSpec} from '../../infra/topology';
import {gcloudOffline} from '../support/gcloud-offline';
import {PreflightError} from '../../infra/deploy/preflight';
import {readFunctionsSource} from '../../infra/firebase-config';
import {parseValkeyCa} from '../../shared/internal';
import {
  makeTestCertificates,
  type TestCertificates,
} from '../support/tls-certificates';
import {readyProject, type FakeProject, deployToFake} from './fake-project';

const REPO = join(__dirname, '../../..');
const REGION = 'europe-west1';
/** The deploy's Valkey flags as docs/deploying.md gives them: the instance, on the functions' network. */
const INSTANCE_ON_NETWORK = [
  '--valkey-instance',
  'locks',
  '--network',
  'locks-vpc',
];

/** An instance as docs/deploying.md creates it; a test changes what it needs. */
function instanceResource(
  project: string,
  changes: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name: `projects/${project}/locations/${REGION}/instances/locks`,
    state: 'ACTIVE',
    engineVersion: 'VALKEY_9_0',
    mode: 'CLUSTER_DISABLED',
    authorizationMode: 'IAM_AUTH',
    transitEncryptionMode: 'SERVER_AUTHENTICATION',
    engineConfigs: {'maxmemory-policy': 'noeviction'},
    endpoints: [
      {
        connections: [
          {
            pscAutoConnection: {
              connectionType: 'CONNECTION_TYPE_PRIMARY',
              ipAddress: '10.128.0.7',
              port: 6379,
              network: `projects/${project}/global/networks/locks-vpc`,
            },
          },
          {
            pscAutoConnection: {
              connectionType: 'CONNECTION_TYPE_READER',
              ipAddress: '10.128.0.8',
              port: 6379,
              network: `projects/${project}/global/networks/locks-vpc`,
            },
          },
        ],
      },
    ],
    ...changes,
  };
}

/**
 * `npm run deploy` with WEAK locks on Memorystore for Valkey: the preflight reads the instance (a
 * fake project answering gcloud as gcloud does; no emulator serves Memorystore), the dry run shows
 * what the functions get. Pub/Sub is the emulator.
 */
describe('infra: npm run deploy with WEAK locks on Valkey', function () {
  this.timeout(30_000);
  let project: string;
  let pubsub: PubSub;
  let scheduler: sinon.SinonStubbedInstance<CloudSchedulerClient>;
  let run: sinon.SinonStub;
  let certs: TestCertificates;
  before(() => {
    certs = makeTestCertificates();
  });
  after(() => certs.remove());
  beforeEach(() => {
    project = `vk-${randomUUID().slice(0, 8)}`;
    pubsub = new PubSub({projectId: project});
    scheduler = sinon.createStubInstance(CloudSchedulerClient);
    scheduler.getJob.rejects(Object.assign(new Error('not found'), {code: 5}));
    run = sinon.stub().rejects(new Error('a dry run must not run commands'));
  });
  afterEach(() => pubsub.close());

  function optionsFor(argv: string[]): DeployOptions {
    return parseDeployArgs([
      '--project',
      project,
      '--region',
      REGION,
      '--dry-run',
      ...argv,
    ]);
  }

  function projectWith(
    options: DeployOptions,
    instance: Record<string, unknown> | undefined,
    changes: Partial<FakeProject> = {},
  ): FakeProject {
    return readyProject(options, {
      // Direct VPC egress needs gcloud 558 or later.
      gcloudVersion: {sdk: '558.0.0', beta: true},
      ...(instance
        ? {
            valkeyInstances: {
              [`${REGION}/locks`]: {
                resource: instance,
                caCerts: [certs.caPem],
              },
            },
          }
        : {}),
      ...changes,
    });
  }

  async function dryRun(
    options: DeployOptions,
    state: FakeProject,
    notes: string[] = [],
  ): Promise<Change[]> {
    return deployToFake(options, state, {
      pubsub,
      scheduler,
      run,
      sleep: async () => {},
      say: line => notes.push(line),
    });
  }

  const deploysOf = (changes: Change[]) =>
    changes.filter(change => change.call.includes('gcloud functions deploy'));
  /** The value of one flag (`--name=value`) in a printed command line, unquoted. */
  const flag = (call: string, name: string): string | undefined => {
    const match = new RegExp(`(?:'--${name}=([^']*)'|--${name}=(\\S*))`).exec(
      call,
    );
    return match ? (match[1] ?? match[2]) : undefined;
  };
  const envOf = (call: string): Record<string, string> => {
    const list = flag(call, 'update-env-vars') ?? '';
    const [delimiter, body] = list.startsWith('^;^')
      ? [';', list.slice(3)]
      : [',', list];
    return Object.fromEntries(
      body
        .split(delimiter)
        .filter(Boolean)
        .map(pair => [
          pair.slice(0, pair.indexOf('=')),
          pair.slice(pair.indexOf('=') + 1),
        ]),
    );
  };

  it('an IAM-auth TLS instance: every function gets its primary endpoint as rediss://, its server CA and LOCKS_VALKEY_AUTH=iam; each runtime account gets dbConnectionUser on that instance only, before the functions', async () => {
    const options = optionsFor([
      '--valkey-instance',
      'locks',
      '--network',
      'locks-vpc',
      '--subnet',
      'locks-subnet',
    ]);
    const changes = await dryRun(
      options,
      projectWith(options, instanceResource(project)),
    );
    sinon.assert.notCalled(run);
    const functions = deploysOf(changes);
    assert.equal(functions.length, 5);
    for (const {call} of functions) {
      const env = envOf(call);
      assert.equal(env.LOCKS_VALKEY_URL, 'rediss://10.128.0.7:6379');
      assert.equal(env.LOCKS_VALKEY_AUTH, 'iam');
      assert.equal(
        parseValkeyCa(env.LOCKS_VALKEY_CA ?? ''),
        certs.caPem,
        'the CA survives the one-line form the deploy sends',
      );
      assert.ok(!('MEMCACHE_SERVERS' in env));
      assert.match(call, /--network=locks-vpc --subnet=locks-subnet/);
      assert.doesNotMatch(call, /--update-secrets/);
    }
    const grants = changes.filter(change =>
      change.resource.startsWith('roles/memorystore.dbConnectionUser'),
    );
    assert.deepEqual(
      grants.map(grant => grant.resource),
      [
        `roles/memorystore.dbConnectionUser on project ${project} for locks-runtime@${project}.iam.gserviceaccount.com (on instance locks only)`,
        `roles/memorystore.dbConnectionUser on project ${project} for locks-worker@${project}.iam.gserviceaccount.com (on instance locks only)`,
      ],
    );
    for (const grant of grants)
      assert.ok(
        grant.call.includes(
          `--condition=expression=resource.name=="projects/${project}/locations/${REGION}/instances/locks",title=locks valkey locks`,
        ),
        grant.call,
      );
    assert.ok(
      changes.indexOf(grants[1] as Change) <
        changes.indexOf(functions[0] as Change),
      'granted before the first function starts',
    );
  });

  it('an instance without TLS or IAM: redis://, and LOCKS_VALKEY_CA and LOCKS_VALKEY_AUTH removed (a redeploy after a change leaves none behind); a note says locks travel in plain text', async () => {
    const options = optionsFor([
      '--valkey-instance',
      'locks',
      '--vpc-connector',
      'locks-connector',
    ]);
    const notes: string[] = [];
    const changes = await dryRun(
      options,
      projectWith(
        options,
        instanceResource(project, {
          authorizationMode: 'AUTH_DISABLED',
          transitEncryptionMode: 'TRANSIT_ENCRYPTION_DISABLED',
        }),
      ),
      notes,
    );
    for (const {call} of deploysOf(changes)) {
      assert.deepEqual(
        Object.keys(envOf(call)).filter(name =>
          name.startsWith('LOCKS_VALKEY'),
        ),
        ['LOCKS_VALKEY_URL'],
      );
      assert.equal(envOf(call).LOCKS_VALKEY_URL, 'redis://10.128.0.7:6379');
      assert.match(
        flag(call, 'remove-env-vars') ?? '',
        /LOCKS_VALKEY_CA,LOCKS_VALKEY_AUTH$/,
      );
    }
    assert.ok(
      changes.every(change => !change.resource.includes('dbConnectionUser')),
    );
    assert.ok(
      notes.some(line => /plain text/.test(line)),
      notes.join('\n'),
    );
    assert.ok(
      notes.some(line => /connector locks-connector is not checked/.test(line)),
    );
  });

  it('--valkey-url-secret: the URL comes from Secret Manager (--update-secrets, never a plain variable) and each runtime account may read that secret only', async () => {
    const options = optionsFor(['--valkey-url-secret', 'valkey-url']);
    const changes = await dryRun(
      options,
      projectWith(options, undefined, {
        secrets: new Set([`${project}/valkey-url`]),
      }),
    );
    for (const {call} of deploysOf(changes)) {
      assert.equal(
        flag(call, 'update-secrets'),
        'LOCKS_VALKEY_URL=valkey-url:latest',
      );
      assert.ok(!('LOCKS_VALKEY_URL' in envOf(call)));
      assert.match(
        flag(call, 'remove-env-vars') ?? '',
        /LOCKS_VALKEY_AUTH,LOCKS_VALKEY_URL$/,
      );
    }
    const grants = changes.filter(change =>
      change.call.startsWith('gcloud secrets add-iam-policy-binding'),
    );
    assert.equal(grants.length, 2);
    for (const grant of grants)
      assert.match(
        grant.call,
        new RegExp(
          `^gcloud secrets add-iam-policy-binding valkey-url --project=${project} --member=serviceAccount:locks-(runtime|worker)@${project}\\.iam\\.gserviceaccount\\.com --role=roles/secretmanager\\.secretAccessor --condition=None --quiet$`,
        ),
      );
  });

  it('a redeploy plans the same calls: every Valkey step is a create-or-update', async () => {
    const options = optionsFor(INSTANCE_ON_NETWORK);
    const state = projectWith(options, instanceResource(project));
    const first = (await dryRun(options, state)).map(change => change.call);
    const second = (await dryRun(options, state)).map(change => change.call);
    assert.deepEqual(second, first);
  });

  const refused: [string, Record<string, unknown> | undefined, RegExp][] = [
    [
      'a missing instance',
      undefined,
      /instance locks in europe-west1 does not exist/,
    ],
    [
      'an instance still being created',
      {state: 'CREATING'},
      /is CREATING, not ACTIVE/,
    ],
    [
      'cluster mode',
      {mode: 'CLUSTER'},
      /cluster mode enabled.*--mode=cluster-disabled/,
    ],
    [
      "Memorystore's default maxmemory-policy",
      {engineConfigs: {}},
      /maxmemory-policy volatile-lru \(Memorystore's default\).*`gcloud memorystore instances update locks --location=europe-west1 --project=\S+ --engine-configs=maxmemory-policy=noeviction`/,
    ],
    [
      'allkeys-lru',
      {engineConfigs: {'maxmemory-policy': 'allkeys-lru'}},
      /maxmemory-policy allkeys-lru, which evicts lock keys/,
    ],
    [
      'an instance on another network',
      {
        endpoints: [
          {
            connections: [
              {
                pscAutoConnection: {
                  connectionType: 'CONNECTION_TYPE_PRIMARY',
                  ipAddress: '10.9.0.2',
                  port: 6379,
                  network: 'projects/other/global/networks/shared',
                },
              },
            ],
          },
        ],
      },
      /is reached on network projects\/other\/global\/networks\/shared, not on --network locks-vpc/,
    ],
    [
      'an instance without a primary endpoint',
      {endpoints: []},
      /has no primary endpoint yet/,
    ],
  ];
  for (const [what, changes, message] of refused)
    it(`${what} stops the deploy in the preflight, before any change`, async () => {
      const options = optionsFor(INSTANCE_ON_NETWORK);
      await assert.rejects(
        dryRun(
          options,
          projectWith(
            options,
            changes === undefined
              ? undefined
              : instanceResource(project, changes),
          ),
        ),
        (error: unknown) =>
          error instanceof PreflightError &&
          error.problems.some(problem => message.test(problem)),
      );
      sinon.assert.notCalled(run);
      const [topics] = await pubsub.getTopics();
      assert.deepEqual(topics, [], 'nothing was created');
    });

  it('a missing secret, and IAM auth with a password secret, are preflight problems; Valkey 7.2 is a note', async () => {
    const options = optionsFor([
      '--valkey-instance',
      'locks',
      '--network',
      'locks-vpc',
      '--valkey-url-secret',
      'valkey-url',
    ]);
    await assert.rejects(
      dryRun(
        options,
        projectWith(
          options,
          instanceResource(project, {engineVersion: 'VALKEY_7_2'}),
        ),
      ),
      (error: unknown) =>
        error instanceof PreflightError &&
        error.problems.some(problem =>
          /secret valkey-url does not exist: create it/.test(problem),
        ) &&
        error.problems.some(problem =>
          /uses IAM auth.*--valkey-url-secret .*drop it/.test(problem),
        ),
    );
    const notes: string[] = [];
    const password = optionsFor(INSTANCE_ON_NETWORK);
    await dryRun(
      password,
      projectWith(
        password,
        instanceResource(project, {engineVersion: 'VALKEY_7_2'}),
      ),
      notes,
    );
    assert.ok(
      notes.some(line => /runs Valkey 7\.2/.test(line)),
      notes.join('\n'),
    );
  });

  it('a disabled Memorystore API is named, with its use', async () => {
    const options = optionsFor(INSTANCE_ON_NETWORK);
    const state = projectWith(options, instanceResource(project));
    state.enabledApis.delete('memorystore.googleapis.com');
    await assert.rejects(
      dryRun(options, state),
      (error: unknown) =>
        error instanceof PreflightError &&
        error.problems.some(problem =>
          /API memorystore\.googleapis\.com is not enabled \(Memorystore: reads the --valkey-instance\)/.test(
            problem,
          ),
        ),
    );
  });

  it('--plan shows the Valkey steps offline: the APIs, the grants, and every function with the instance settings', async () => {
    const options = parseDeployArgs([
      '--project',
      project,
      '--region',
      REGION,
      '--plan',
      '--valkey-instance',
      'locks',
      '--network',
      'locks-vpc',
    ]);
    const changes = await deploy(
      options,
      readFunctionsSource(join(REPO, 'firebase.json')),
      planTools(options),
      () => undefined,
    );
    assert.ok(
      changes.some(change =>
        /gcloud services enable .*memorystore\.googleapis\.com/.test(
          change.call,
        ),
      ),
    );
    assert.ok(
      changes.some(change => change.resource.includes('dbConnectionUser')),
    );
    for (const {call} of deploysOf(changes))
      assert.deepEqual(
        Object.entries(envOf(call)).filter(([name]) =>
          name.startsWith('LOCKS_VALKEY'),
        ),
        [
          ['LOCKS_VALKEY_URL', 'rediss://VALKEY_PRIMARY_IP:6379'],
          ['LOCKS_VALKEY_CA', 'SERVER_CA_PEM'],
          ['LOCKS_VALKEY_AUTH', 'iam'],
        ],
      );
  });

  const usage: [string[], RegExp][] = [
    [
      [
        '--valkey-instance',
        'locks',
        '--memcache-servers',
        '10.0.0.3:11211',
        '--network',
        'n',
      ],
      /--memcache-servers and --valkey-instance\/--valkey-url-secret both say where WEAK locks live/,
    ],
    [
      ['--valkey-url-secret', 's', '--memcache-servers', '10.0.0.3:11211'],
      /both say where WEAK locks live/,
    ],
    [
      ['--valkey-instance', 'locks'],
      /--valkey-instance needs --network\/--subnet .* or --vpc-connector/,
    ],
    [
      ['--valkey-location', 'europe-west1'],
      /--valkey-location needs --valkey-instance/,
    ],
    [
      ['--valkey-instance', 'Locks', '--network', 'n'],
      /--valkey-instance "Locks" is not an instance id/,
    ],
    [
      ['--valkey-url-secret', 'a/b'],
      /--valkey-url-secret "a\/b" is not a secret id/,
    ],
  ];
  for (const [argv, message] of usage)
    it(`${argv.join(' ')}: a usage error before any call`, () => {
      assert.throws(
        () => optionsFor(argv),
        (error: unknown) =>
          error instanceof UsageError && message.test(error.message),
      );
    });
});

/** gcloud itself checks the Valkey command lines, offline: a well-formed one exits 1 for want of an account, a bad flag 2. */
describe('infra: the Valkey gcloud command lines, validated by gcloud', function () {
  this.timeout(120_000);
  const options = parseDeployArgs([
    '--project',
    'my-project',
    '--region',
    REGION,
    '--valkey-instance',
    'locks',
    '--valkey-location',
    'europe-west4',
    '--valkey-url-secret',
    'projects/secrets-home/secrets/valkey-url',
    // gcloud 528 here predates Direct VPC egress (558): the connector form is the one it can check.
    '--vpc-connector',
    'locks-connector',
  ]);
  const target: ValkeyTarget = {
    env: {
      LOCKS_VALKEY_CA:
        '-----BEGIN CERTIFICATE-----\\nMIIB+/=\\n-----END CERTIFICATE-----',
      LOCKS_VALKEY_AUTH: 'iam',
    },
    urlSecret: 'projects/secrets-home/secrets/valkey-url:latest',
    remove: [],
    iam: true,
  };
  const commands: [string, string[]][] = [
    ['instance describe', instanceDescribeCommand(options)],
    ['server CA', certificateAuthorityCommand(options)],
    ['secret describe', secretDescribeCommand(options)],
    ...valkeyGrants(options, target).map(
      grant => [grant.resource, grant.args] as [string, string[]],
    ),
    [
      'functions deploy with the Valkey settings',
      functionDeployCommand(
        FUNCTIONS.find(spec => spec.trigger.kind === 'http') as FunctionSpec,
        options,
        'nodejs22',
        false,
        target,
      ),
    ],
  ];
  for (const [what, args] of commands)
    it(`${what}: gcloud ${args.slice(0, 3).join(' ')} is well-formed`, async () => {
      const result = await gcloudOffline(args);
      assert.equal(result.code, 1, result.output);
      assert.doesNotMatch(
        result.output,
        /unrecognized arguments|Invalid value/,
      );
    });

  it('the secret in another project is read and granted there', () => {
    assert.ok(
      secretDescribeCommand(options).includes('--project=secrets-home'),
    );
    for (const grant of valkeyGrants(options, target).filter(grant =>
      grant.args.includes('secrets'),
    ))
      assert.ok(
        grant.args.includes('--project=secrets-home'),
        grant.args.join(' '),
      );
  });
});
