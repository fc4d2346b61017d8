import {strict as assert} from 'node:assert';
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {parseDeployArgs} from '../../infra/deploy/deploy-options';
import {deployCommands} from '../../infra/deploy/gcloud-commands';
import {
  deployableRuntime,
  NODE_RUNTIME_SCHEDULE,
  runtimeStatus,
} from '../../infra/deploy/runtime-schedule';
import {readFunctionsSource} from '../../infra/firebase-config';
import {FUNCTIONS} from '../../infra/topology';

const REPO = join(__dirname, '../../..');

/** firebase.json names the deployed Node.js once; the deploy, `engines` and the schedule must agree with it. */
describe('infra: the deployed Node.js runtime', () => {
  const runtime = readFunctionsSource(join(REPO, 'firebase.json')).runtime;
  const major = Number(runtime.replace(/^nodejs/, ''));

  it('firebase.json names a runtime Cloud Functions still deploys today', () => {
    assert.ok(
      runtime in NODE_RUNTIME_SCHEDULE,
      `${runtime} is not in the schedule`,
    );
    assert.notEqual(
      runtimeStatus(runtime, new Date()),
      'decommissioned',
      `${runtime} is decommissioned: a deploy would be refused`,
    );
  });

  it('the deploy deploys exactly that runtime, on every function', () => {
    const options = parseDeployArgs([
      '--project',
      'my-project',
      '--region',
      'europe-west1',
    ]);
    const runtimes = deployCommands(options, runtime)
      .filter(args => args[1] === 'deploy')
      .map(args => args.filter(arg => arg.startsWith('--runtime=')));
    assert.deepEqual(
      runtimes,
      FUNCTIONS.map(() => [`--runtime=${runtime}`]),
    );
  });

  it('package.json engines admits the deployed Node.js and the Node.js this suite runs on', () => {
    const engines = (
      JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
        engines: {node: string};
      }
    ).engines.node;
    // Only the ">=N" form is read here; another form needs this check extended, not skipped.
    const minimum = /^>=\s*(\d+)$/.exec(engines)?.[1];
    assert.ok(
      minimum,
      `engines.node ${JSON.stringify(engines)} is not of the form ">=N"`,
    );
    assert.ok(
      major >= Number(minimum),
      `engines.node ${engines} excludes the deployed ${runtime}`,
    );
    assert.ok(
      Number(process.versions.node.split('.')[0]) >= Number(minimum),
      `engines.node ${engines} excludes this Node.js ${process.version}`,
    );
  });

  it('the schedule: supported, then deprecated, then decommissioned; a decommissioned runtime is refused with the way out', () => {
    assert.equal(
      runtimeStatus('nodejs20', new Date('2026-04-29T23:59:59Z')),
      'supported',
    );
    assert.equal(
      runtimeStatus('nodejs20', new Date('2026-04-30T00:00:00Z')),
      'deprecated',
    );
    assert.equal(
      runtimeStatus('nodejs20', new Date('2026-10-30T00:00:00Z')),
      'decommissioned',
    );
    assert.equal(runtimeStatus('nodejs99', new Date()), 'unknown');
    const issueDay = new Date('2026-11-26T12:00:00Z');
    assert.throws(
      () => deployableRuntime('nodejs20', issueDay),
      /nodejs20, decommissioned on 2026-10-30.*Set a supported runtime \(nodejs22, nodejs24\)/,
    );
    assert.deepEqual(deployableRuntime('nodejs24', issueDay), {});
    assert.match(
      deployableRuntime('nodejs22', new Date('2027-05-01T00:00:00Z')).warning ??
        '',
      /deprecated since 2027-04-30.*decommissioned on 2027-10-31/,
    );
    assert.match(
      deployableRuntime('nodejs26', issueDay).warning ?? '',
      /not in this deploy's runtime schedule/,
    );
  });
});
