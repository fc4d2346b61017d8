import {strict as assert} from 'node:assert';
import {join} from 'node:path';
import {parseDeployArgs} from '../../infra/deploy/deploy-options';
import {
  databaseCreateCommand,
  databaseDescribeCommand,
  deadLetterGrantCommands,
  deployCommands,
  DIRECT_VPC_FLAGS,
  functionDeployCommand,
  projectNumberCommand,
} from '../../infra/deploy/gcloud-commands';
import {
  gcloudProblems,
  versionCommand,
} from '../../infra/deploy/gcloud-version';
import {
  orgPolicyCommand,
  READ_CONSTRAINTS,
} from '../../infra/deploy/org-policies';
import {serviceIdentityCommands} from '../../infra/deploy/service-identities';
import {
  invokerGrants,
  projectGrants,
  topicGrants,
} from '../../infra/deploy/iam-grants';
import {
  enableApisCommand,
  enabledApisCommand,
  requiredApis,
} from '../../infra/deploy/required-apis';
import {
  accountCreateCommand,
  accountDescribeCommand,
} from '../../infra/deploy/service-accounts';
import {
  triggerSubscriptionCommand,
  workerTriggerCommand,
} from '../../infra/deploy/worker-trigger';
import {readFunctionsSource} from '../../infra/firebase-config';
import {FUNCTIONS} from '../../infra/topology';
import {gcloudOffline} from '../support/gcloud-offline';

const RUNTIME = readFunctionsSource(
  join(__dirname, '../../../firebase.json'),
).runtime;

/**
 * gcloud checks a command line before it needs an account: with an empty configuration folder, bad
 * flags exit 2, and a well-formed command exits 1 for want of an active account. So every command
 * the deploy would run is validated by gcloud itself, offline, without touching a project.
 */
describe('infra: the gcloud command lines, validated by gcloud', function () {
  this.timeout(60_000);
  const options = parseDeployArgs([
    '--project',
    'my-project',
    '--region',
    'europe-west1',
    '--runtime-service-account',
    'run@my-project.iam.gserviceaccount.com',
  ]);
  // A named database: the functions' environment flags take their other form.
  const named = parseDeployArgs([
    '--project',
    'my-project',
    '--region',
    'europe-west1',
    '--database',
    'locks',
    '--database-location',
    'eur3',
  ]);
  // WEAK locks in the cloud: two memcached servers (a comma inside a variable) behind a VPC connector.
  const weak = parseDeployArgs([
    '--project',
    'my-project',
    '--region',
    'europe-west1',
    '--memcache-servers',
    '10.0.0.3:11211,10.0.0.4:11211',
    '--vpc-connector',
    'locks-connector',
    '--vpc-egress',
    'private-ranges-only',
  ]);

  // STRONG locks on Firestore native mode, in a named database.
  const native = parseDeployArgs([
    '--project',
    'my-project',
    '--region',
    'europe-west1',
    '--strong-store',
    'firestore',
    '--database',
    'locks',
  ]);
  const nativeDefault = parseDeployArgs([
    '--project',
    'my-project',
    '--region',
    'europe-west1',
    '--strong-store',
    'firestore',
  ]);
  const page = parseDeployArgs([
    '--project',
    'my-project',
    '--region',
    'europe-west1',
    '--locks-page',
  ]);
  const noWorker = parseDeployArgs([
    '--project',
    'my-project',
    '--region',
    'europe-west1',
    '--without-example-worker',
  ]);
  // Direct VPC egress: flags newer than this gcloud (528); see the exemption below.
  const directVpc = parseDeployArgs([
    '--project',
    'my-project',
    '--region',
    'europe-west1',
    '--memcache-servers',
    '10.0.0.3:11211',
    '--network',
    'default',
    '--subnet',
    'locks',
  ]);
  const worker = FUNCTIONS.find(spec => spec.name === 'exampleWorker');
  if (!worker) throw new Error('FUNCTIONS has no exampleWorker');

  const all: [string, string[]][] = [
    ...[
      ...deployCommands(options, RUNTIME),
      ...deadLetterGrantCommands(options, '123456789', [
        'eventarc-europe-west1-exampleworker-123-sub-456',
      ]),
      projectNumberCommand(options),
      databaseDescribeCommand(options),
      databaseCreateCommand(options),
      enabledApisCommand(options),
      enableApisCommand(options, requiredApis(weak)),
      accountDescribeCommand(options, options.runtimeServiceAccount),
      accountCreateCommand(
        options,
        'locks-runtime',
        'locks functions: runtime',
      ),
      ...[
        ...projectGrants(options),
        ...topicGrants(options),
        ...invokerGrants(options),
      ].map(grant => grant.args),
      workerTriggerCommand(options),
      triggerSubscriptionCommand(
        options,
        'projects/my-project/locations/europe-west1/triggers/exampleworker-123456',
      ),
      ['auth', 'print-access-token'],
      ...serviceIdentityCommands(options).map(identity => identity.args),
      // Every constraint is read by the same command line; the constraint itself is not checked offline.
      orgPolicyCommand(options, READ_CONSTRAINTS[0] as string),
      functionDeployCommand(worker, options, RUNTIME, true),
    ].map((args): [string, string[]] => ['', args]),
    // roles/datastore.user conditioned on the named database.
    ...projectGrants(named)
      .filter(grant => grant.args.includes('--role=roles/datastore.user'))
      .map((grant): [string, string[]] => [
        ' (on database locks only)',
        grant.args,
      ]),
    ...deployCommands(noWorker, RUNTIME).map((args): [string, string[]] => [
      ' (--without-example-worker)',
      args,
    ]),
    ...deployCommands(weak, RUNTIME)
      .slice(0, FUNCTIONS.length)
      .map((args): [string, string[]] => [
        ' (memcached behind a VPC connector)',
        args,
      ]),
    ...[
      ...deployCommands(named, RUNTIME).slice(0, FUNCTIONS.length),
      databaseDescribeCommand(named),
      databaseCreateCommand(named),
    ].map((args): [string, string[]] => [' (database locks)', args]),
    ...[
      ...deployCommands(native, RUNTIME).slice(0, FUNCTIONS.length),
      databaseCreateCommand(native),
      enableApisCommand(native, requiredApis(native)),
    ].map((args): [string, string[]] => [
      ' (Firestore native mode, database locks)',
      args,
    ]),
    ...deployCommands(nativeDefault, RUNTIME)
      .slice(0, 1)
      .map((args): [string, string[]] => [
        ' (Firestore native mode, default database)',
        args,
      ]),
    // The live locks page, turned on, with the flags of the other HTTP functions.
    ...deployCommands(page, RUNTIME)
      .slice(FUNCTIONS.length, FUNCTIONS.length + 1)
      .map((args): [string, string[]] => [' (--locks-page)', args]),
  ];
  for (const [variant, args] of all) {
    it(`gcloud ${args.filter(arg => !arg.startsWith('--')).join(' ')}${variant}: well formed`, async () => {
      const result = await gcloudOffline(args);
      assert.equal(
        result.code,
        1,
        `gcloud ${args.join(' ')}\n${result.output}`,
      );
      assert.match(result.output, /active account/);
    });
  }

  /**
   * The one exemption: Direct VPC egress's `--network` and `--subnet` on `gcloud functions deploy`
   * need gcloud 545 or later (558 in the later revision of Google's "Configure Direct VPC egress
   * for 2nd gen functions", https://cloud.google.com/functions/docs/running/direct-vpc), and this
   * machine has 528. Exactly those two flags are taken out before the check, and the rest of each
   * line must pass it. Where gcloud is new enough to know them, the whole line is checked.
   */
  it('Direct VPC egress: every line passes with exactly --network and --subnet exempted (gcloud 528 predates them)', async () => {
    const lines = deployCommands(directVpc, RUNTIME).slice(0, FUNCTIONS.length);
    for (const args of lines) {
      const exempted = args.filter(arg =>
        DIRECT_VPC_FLAGS.some(flag => arg.startsWith(`${flag}=`)),
      );
      assert.deepEqual(
        exempted,
        ['--network=default', '--subnet=locks'],
        args.join(' '),
      );
    }
    const first = lines[0] as string[];
    const whole = await gcloudOffline(first);
    if (whole.code === 2) {
      assert.match(whole.output, /unrecognized arguments:/, whole.output);
      const refused = first.filter(arg =>
        new RegExp(
          `^\\s+${arg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\s|$)`,
          'm',
        ).test(whole.output),
      );
      assert.deepEqual(
        refused,
        ['--network=default', '--subnet=locks'],
        whole.output,
      );
    } else assert.equal(whole.code, 1, whole.output);
    for (const args of lines) {
      const rest = args.filter(
        arg => !DIRECT_VPC_FLAGS.some(flag => arg.startsWith(`${flag}=`)),
      );
      const result = await gcloudOffline(rest);
      assert.equal(
        result.code,
        1,
        `gcloud ${rest.join(' ')}\n${result.output}`,
      );
    }
  });

  it('an unchanged trigger: the worker line has no trigger flag; the first deploy has them all', () => {
    const kept = functionDeployCommand(worker, options, RUNTIME, true);
    assert.ok(
      !kept.some(arg => /^--(trigger|retry)/.test(arg)),
      kept.join(' '),
    );
    assert.deepEqual(
      functionDeployCommand(worker, options, RUNTIME).filter(arg =>
        /^--(trigger|retry)/.test(arg),
      ),
      [
        '--trigger-topic=example-work',
        '--trigger-service-account=locks-trigger@my-project.iam.gserviceaccount.com',
        '--retry',
      ],
    );
  });

  it("gcloud version --format=json: this gcloud's own answer passes the preflight's version check (528, beta)", async () => {
    const result = await gcloudOffline(versionCommand());
    assert.equal(result.code, 0, result.output);
    const json = result.output.slice(result.output.indexOf('{'));
    assert.deepEqual(
      await gcloudProblems(
        async () => ({code: 0, stdout: json, stderr: ''}),
        options,
      ),
      [],
    );
  });

  it('a flag gcloud does not know is caught (the check can fail)', async () => {
    const args = [
      ...functionDeployCommand(
        FUNCTIONS[0] as (typeof FUNCTIONS)[number],
        options,
        RUNTIME,
      ),
      '--no-such-flag',
    ];
    const result = await gcloudOffline(args);
    assert.equal(result.code, 2, result.output);
  });

  it('two env-var forms gcloud refuses together are caught (the check can fail)', async () => {
    const args = [
      ...functionDeployCommand(
        FUNCTIONS[0] as (typeof FUNCTIONS)[number],
        named,
        RUNTIME,
      ),
      '--set-env-vars=A=b',
    ];
    const result = await gcloudOffline(args);
    assert.equal(result.code, 2, result.output);
  });

  it('HTTP functions are private, the worker retries and knows its dead-letter topic', () => {
    const byName = new Map(
      deployCommands(options, RUNTIME).map(args => [
        `${args[1]} ${args[2]}`,
        args,
      ]),
    );
    for (const name of ['acquireLock', 'releaseLock', 'cleanupLocks']) {
      const args = byName.get(`deploy ${name}`);
      assert.ok(
        args?.includes('--trigger-http') &&
          args.includes('--no-allow-unauthenticated') &&
          !args.includes('--retry'),
        name,
      );
      assert.ok(
        args?.includes('--gen2') && args.includes(`--runtime=${RUNTIME}`),
        name,
      );
    }
    const worker = byName.get('deploy exampleWorker');
    assert.ok(
      worker?.includes('--trigger-topic=example-work') &&
        worker.includes('--retry'),
    );
    assert.ok(
      worker?.includes(
        '--trigger-service-account=locks-trigger@my-project.iam.gserviceaccount.com',
      ),
      'the trigger pushes as its own account',
    );
    assert.ok(
      worker?.includes(
        '--update-env-vars=EXAMPLE_DEAD_LETTER_TOPIC=projects/my-project/topics/example-work-dead-letter',
      ),
    );
    assert.ok(
      byName
        .get('add-invoker-policy-binding cleanupLocks')
        ?.includes(
          '--member=serviceAccount:locks-scheduler@my-project.iam.gserviceaccount.com',
        ),
    );
  });

  it('every function runs and builds as its own account; only the worker has a trigger account', () => {
    for (const args of deployCommands(options, RUNTIME).slice(
      0,
      FUNCTIONS.length,
    )) {
      // The worker runs as its own account: only it may publish to its topics.
      assert.ok(
        args.includes(
          args[2] === 'exampleWorker'
            ? '--service-account=locks-worker@my-project.iam.gserviceaccount.com'
            : '--service-account=run@my-project.iam.gserviceaccount.com',
        ),
        args.join(' '),
      );
      assert.ok(
        args.includes(
          '--build-service-account=projects/my-project/serviceAccounts/locks-build@my-project.iam.gserviceaccount.com',
        ),
        args.join(' '),
      );
      assert.equal(
        args.some(arg => arg.startsWith('--trigger-service-account')),
        args[2] === 'exampleWorker',
        args.join(' '),
      );
    }
  });

  it("WEAK locks: MEMCACHE_SERVERS on every function (several servers through gcloud's other delimiter), the connector and its egress; without the options, neither is touched", () => {
    for (const args of deployCommands(weak, RUNTIME).slice(
      0,
      FUNCTIONS.length,
    )) {
      const update = args.find(arg => arg.startsWith('--update-env-vars='));
      assert.ok(
        update?.startsWith('--update-env-vars=^;^') &&
          update
            .slice('--update-env-vars=^;^'.length)
            .split(';')
            .includes('MEMCACHE_SERVERS=10.0.0.3:11211,10.0.0.4:11211'),
        args.join(' '),
      );
      assert.ok(
        args.includes('--vpc-connector=locks-connector') &&
          args.includes('--egress-settings=private-ranges-only'),
        args.join(' '),
      );
    }
    for (const args of deployCommands(options, RUNTIME).slice(
      0,
      FUNCTIONS.length,
    )) {
      assert.ok(
        !args.some(
          arg =>
            arg.includes('MEMCACHE_SERVERS') ||
            arg.startsWith('--vpc-connector') ||
            arg.startsWith('--clear-vpc-connector'),
        ),
        args.join(' '),
      );
    }
  });

  it('a comma inside a variable without the other delimiter is caught by gcloud (the check can fail)', async () => {
    const args =
      deployCommands(weak, RUNTIME)[0]?.map(arg =>
        arg.startsWith('--update-env-vars=^;^')
          ? `--update-env-vars=${arg.slice('--update-env-vars=^;^'.length).replace(/;/g, ',')}`
          : arg,
      ) ?? [];
    const result = await gcloudOffline(args);
    assert.equal(result.code, 2, result.output);
  });

  it('every function reads the named database; with the default one, the variable is removed, not left behind', () => {
    const deployLines = (deployOptions: typeof options) =>
      deployCommands(deployOptions, RUNTIME).slice(0, FUNCTIONS.length);
    for (const args of deployLines(named)) {
      const update = args.filter(arg => arg.startsWith('--update-env-vars='));
      assert.equal(update.length, 1, args.join(' '));
      assert.ok(
        update[0]
          ?.split('=')
          .slice(1)
          .join('=')
          .split(',')
          .includes('LOCKS_DATASTORE_DATABASE=locks'),
        args.join(' '),
      );
      // The other store's variable goes: the functions refuse it beside LOCKS_STRONG_STORE=datastore.
      assert.ok(
        args.includes(
          '--remove-env-vars=LOCKS_STRONG_STORE,LOCKS_FIRESTORE_DATABASE',
        ),
        args.join(' '),
      );
      assert.ok(
        !args.some(arg => arg.startsWith('--set-env-vars')),
        args.join(' '),
      );
    }
    for (const args of deployLines(options)) {
      assert.ok(
        args.includes(
          '--remove-env-vars=LOCKS_STRONG_STORE,LOCKS_DATASTORE_DATABASE,LOCKS_FIRESTORE_DATABASE',
        ),
        args.join(' '),
      );
      assert.ok(
        !args.some(
          arg =>
            arg.includes('LOCKS_DATASTORE_DATABASE=') ||
            arg.startsWith('--set-env-vars'),
        ),
        args.join(' '),
      );
    }
    assert.deepEqual(databaseCreateCommand(named), [
      'firestore',
      'databases',
      'create',
      '--database=locks',
      '--location=eur3',
      '--type=datastore-mode',
      '--project=my-project',
      '--quiet',
    ]);
    assert.ok(
      databaseCreateCommand(options).includes('--location=europe-west1'),
      'the location defaults to the region',
    );
  });

  it('--strong-store firestore: every function gets LOCKS_STRONG_STORE=firestore and the native-mode database, loses LOCKS_DATASTORE_DATABASE; the database is created in native mode', () => {
    const updates = (args: string[]) =>
      args
        .find(arg => arg.startsWith('--update-env-vars='))
        ?.slice('--update-env-vars='.length)
        .split(',') ?? [];
    for (const args of deployCommands(native, RUNTIME).slice(
      0,
      FUNCTIONS.length,
    )) {
      assert.ok(
        updates(args).includes('LOCKS_STRONG_STORE=firestore') &&
          updates(args).includes('LOCKS_FIRESTORE_DATABASE=locks'),
        args.join(' '),
      );
      assert.ok(
        args.includes('--remove-env-vars=LOCKS_DATASTORE_DATABASE'),
        args.join(' '),
      );
    }
    for (const args of deployCommands(nativeDefault, RUNTIME).slice(
      0,
      FUNCTIONS.length,
    )) {
      assert.ok(
        updates(args).includes('LOCKS_STRONG_STORE=firestore'),
        args.join(' '),
      );
      assert.ok(
        args.includes(
          '--remove-env-vars=LOCKS_DATASTORE_DATABASE,LOCKS_FIRESTORE_DATABASE',
        ),
        args.join(' '),
      );
    }
    for (const args of deployCommands(options, RUNTIME).slice(
      0,
      FUNCTIONS.length,
    )) {
      assert.ok(
        args.includes(
          '--remove-env-vars=LOCKS_STRONG_STORE,LOCKS_DATASTORE_DATABASE,LOCKS_FIRESTORE_DATABASE',
        ),
        `switching back to Datastore unsets the store: ${args.join(' ')}`,
      );
    }
    assert.deepEqual(databaseCreateCommand(native), [
      'firestore',
      'databases',
      'create',
      '--database=locks',
      '--location=europe-west1',
      '--type=firestore-native',
      '--project=my-project',
      '--quiet',
    ]);
  });

  it('--strong-store firestore needs the Firestore API, not the Datastore API', () => {
    assert.ok(requiredApis(native).includes('firestore.googleapis.com'));
    assert.ok(!requiredApis(native).includes('datastore.googleapis.com'));
    assert.ok(
      requiredApis(options).includes('datastore.googleapis.com') &&
        requiredApis(options).includes('firestore.googleapis.com'),
    );
  });
});
