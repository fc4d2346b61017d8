import {strict as assert} from 'node:assert';
import {spawnSync} from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

/**
 * `npm run setup` (scripts/setup.sh) on a machine made of fakes: PATH is one folder holding only the
 * tools a case says are installed, a fake `id` (root or not), and, when a case has them, a fake
 * apt-get (records its arguments; `install` puts the package's commands on PATH, or fails) and a
 * fake sudo (records, then runs the rest). Nothing is installed on the real machine.
 */
const REPO = join(__dirname, '../../..');
const SCRIPT = join(REPO, 'scripts/setup.sh');
const BASH = '/bin/bash';

/** The commands each Debian package provides, as the script checks them. */
const PROVIDES: Record<string, string[]> = {
  'openjdk-17-jre-headless': ['java'],
  memcached: ['memcached'],
  'redis-server': ['redis-server'],
  chromium: ['chromium'],
  iproute2: ['ip', 'tc'],
  iptables: ['iptables'],
  faketime: ['faketime'],
};
const ALL_TOOLS = Object.values(PROVIDES).flat();
const SDK_PARTS = [
  'platform/cloud-datastore-emulator/cloud_datastore_emulator',
  'platform/cloud-firestore-emulator/cloud-firestore-emulator.jar',
  'platform/pubsub-emulator/bin/cloud-pubsub-emulator',
];

interface Machine {
  readonly root: boolean;
  readonly installed: readonly string[];
  readonly aptGet?: 'works' | 'fails';
  readonly sudo?: boolean;
  readonly sdkParts?: readonly string[];
  readonly gcloud?: boolean;
}

interface SetupRun {
  readonly status: number | null;
  readonly output: string;
  /** One line per call: `apt-get ARGS` or `sudo ARGS`. */
  readonly calls: string[];
}

let folder: string;
beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), 'machine-setup-'));
});
afterEach(() => rmSync(folder, {recursive: true, force: true}));

function executable(path: string, text: string): void {
  writeFileSync(path, text);
  chmodSync(path, 0o755);
}

function runSetup(machine: Machine): SetupRun {
  const bin = join(folder, 'bin');
  const sdk = join(folder, 'sdk');
  const log = join(folder, 'calls.log');
  mkdirSync(bin);
  writeFileSync(log, '');
  // The script's own needs: `env` (it runs apt-get through it) and `id`.
  symlinkSync('/usr/bin/env', join(bin, 'env'));
  executable(join(bin, 'id'), `#!/bin/sh\necho ${machine.root ? 0 : 1000}\n`);
  const stub = '#!/bin/sh\nexit 0\n';
  for (const tool of machine.installed) executable(join(bin, tool), stub);
  if (machine.gcloud ?? true) executable(join(bin, 'gcloud'), stub);
  for (const part of machine.sdkParts ?? SDK_PARTS) {
    mkdirSync(join(sdk, part, '..'), {recursive: true});
    writeFileSync(join(sdk, part), '');
  }
  if (machine.aptGet) {
    const installs = Object.entries(PROVIDES)
      .map(
        ([name, tools]) =>
          `    ${name}) for t in ${tools.join(' ')}; do printf '#!/bin/sh\\n' > "${bin}/$t"; /bin/chmod +x "${bin}/$t"; done ;;`,
      )
      .join('\n');
    executable(
      join(bin, 'apt-get'),
      `#!/bin/sh\necho "apt-get $*" >> "${log}"\n` +
        (machine.aptGet === 'fails'
          ? 'exit 100\n'
          : `[ "$1" = install ] || exit 0\nfor p in "$@"; do\n  case "$p" in\n${installs}\n  esac\ndone\n`),
    );
  }
  if (machine.sudo)
    executable(
      join(bin, 'sudo'),
      `#!/bin/sh\necho "sudo $*" >> "${log}"\nexec "$@"\n`,
    );
  const result = spawnSync(BASH, [SCRIPT], {
    encoding: 'utf8',
    env: {PATH: bin, CLOUDSDK_ROOT_DIR: sdk},
  });
  return {
    status: result.status,
    output: result.stdout + result.stderr,
    calls: readFileSync(log, 'utf8').split('\n').filter(Boolean),
  };
}

const without = (...missing: string[]) =>
  ALL_TOOLS.filter(tool => !missing.includes(tool));

describe('npm run setup (scripts/setup.sh)', () => {
  it('with everything present installs nothing and exits 0', () => {
    const run = runSetup({
      root: true,
      installed: ALL_TOOLS,
      aptGet: 'works',
      sudo: true,
    });
    assert.equal(run.status, 0, run.output);
    assert.deepEqual(run.calls, []);
    assert.match(run.output, /has everything npm test needs/);
  });

  it('as root asks apt-get for exactly the missing packages, then exits 0', () => {
    const run = runSetup({
      root: true,
      installed: without('memcached', 'tc', 'iptables'),
      aptGet: 'works',
      sudo: true,
    });
    assert.equal(run.status, 0, run.output);
    assert.deepEqual(run.calls, [
      'apt-get update -q',
      'apt-get install -y -q memcached iproute2 iptables',
    ]);
  });

  it('a Valkey-protocol server: redis-server when neither it nor valkey-server is there; valkey-server alone is enough', () => {
    const neither = runSetup({
      root: true,
      installed: without('redis-server'),
      aptGet: 'works',
    });
    assert.equal(neither.status, 0, neither.output);
    assert.deepEqual(neither.calls, [
      'apt-get update -q',
      'apt-get install -y -q redis-server',
    ]);
    rmSync(folder, {recursive: true, force: true});
    folder = mkdtempSync(join(tmpdir(), 'machine-setup-'));
    const valkey = runSetup({
      root: true,
      installed: [...without('redis-server'), 'valkey-server'],
      aptGet: 'works',
    });
    assert.equal(valkey.status, 0, valkey.output);
    assert.deepEqual(valkey.calls, []);
  });

  it('not root, installs through sudo', () => {
    const run = runSetup({
      root: false,
      installed: without('chromium'),
      aptGet: 'works',
      sudo: true,
    });
    assert.equal(run.status, 0, run.output);
    assert.deepEqual(run.calls, [
      'sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q',
      'apt-get update -q',
      'sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium',
      'apt-get install -y -q chromium',
    ]);
  });

  it('not root and no sudo: prints the exact apt-get line, installs nothing, exits 1 naming the packages', () => {
    const run = runSetup({
      root: false,
      installed: without('java', 'faketime'),
      aptGet: 'works',
    });
    assert.equal(run.status, 1, run.output);
    assert.deepEqual(run.calls, []);
    assert.ok(
      run.output.includes(
        'apt-get update && apt-get install -y openjdk-17-jre-headless faketime',
      ),
      run.output,
    );
    assert.match(run.output, /Debian package openjdk-17-jre-headless/);
    assert.match(run.output, /Debian package faketime/);
  });

  it('when apt-get fails exits 1 naming what is still missing', () => {
    const run = runSetup({
      root: true,
      installed: without('iptables'),
      aptGet: 'fails',
    });
    assert.equal(run.status, 1, run.output);
    assert.deepEqual(run.calls, ['apt-get update -q']);
    assert.match(run.output, /still missing[^]*Debian package iptables/);
    assert.doesNotMatch(run.output, /Debian package (?!iptables)/);
  });

  it('names the Google Cloud CLI parts it cannot install, and exits 1', () => {
    const run = runSetup({
      root: true,
      installed: ALL_TOOLS,
      aptGet: 'works',
      sdkParts: SDK_PARTS.filter(part => !part.includes('pubsub')),
      gcloud: false,
    });
    assert.equal(run.status, 1, run.output);
    assert.deepEqual(run.calls, []);
    assert.match(
      run.output,
      /gcloud components install pubsub-emulator, or apt-get install google-cloud-cli-pubsub-emulator/,
    );
    assert.match(run.output, /gcloud, the Google Cloud CLI/);
    assert.doesNotMatch(run.output, /datastore-emulator|firestore-emulator/);
  });

  it('is the script package.json and .ci/run run', () => {
    assert.ok(existsSync(SCRIPT));
    const {scripts} = JSON.parse(
      readFileSync(join(REPO, 'package.json'), 'utf8'),
    ) as {scripts: Record<string, string>};
    assert.equal(scripts.setup, 'bash scripts/setup.sh');
    assert.match(
      readFileSync(join(REPO, '.ci/run'), 'utf8'),
      /^npm run setup$/m,
    );
  });
});
