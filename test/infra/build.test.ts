import {strict as assert} from 'node:assert';
import {execFile} from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {promisify} from 'node:util';

/**
 * `npm run build` as a user meets it, on a copy of the working tree (never the dist/ this test run
 * executes from): the CLI entry stays executable after every build, so `npx cloud-functions-locking`
 * works; outputs of a deleted source are removed; an unchanged tree builds nothing, and `npm start`
 * refuses a bad flag without building.
 */
const REPO = join(__dirname, '../../..');
const CLI_OUTPUT = 'dist/infra/cli/main.js';
// A source that exists for the first build only, next to the CLI.
const DOOMED = 'infra/cli/deleted-before-second-build';

interface Ran {
  readonly code: number;
  readonly output: string;
}

async function run(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<Ran> {
  try {
    const {stdout, stderr} = await promisify(execFile)(command, args, {
      cwd,
      env: {...process.env, ...env},
      maxBuffer: 16 * 1024 * 1024,
    });
    return {code: 0, output: stdout + stderr};
  } catch (error) {
    const failed = error as {code?: number; stdout?: string; stderr?: string};
    return {
      code: typeof failed.code === 'number' ? failed.code : -1,
      output: `${failed.stdout ?? ''}${failed.stderr ?? ''}`,
    };
  }
}

/** The tree as git sees it (tracked and new files, not ignored ones), with the repo's node_modules. */
async function copyWorkingTree(): Promise<string> {
  const copy = mkdtempSync(join(tmpdir(), 'build-copy-'));
  const listed = await run(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    REPO,
  );
  assert.equal(listed.code, 0, listed.output);
  for (const file of new Set(listed.output.split('\0').filter(Boolean)))
    if (existsSync(join(REPO, file)))
      cpSync(join(REPO, file), join(copy, file), {recursive: true});
  symlinkSync(
    realpathSync(join(REPO, 'node_modules')),
    join(copy, 'node_modules'),
  );
  return copy;
}

/** Every file below dist/ with its modification time. */
function distTimes(copy: string): Map<string, number> {
  const dist = join(copy, 'dist');
  return new Map(
    readdirSync(dist, {recursive: true})
      .map(String)
      .filter(file => statSync(join(dist, file)).isFile())
      .map(file => [file, statSync(join(dist, file)).mtimeMs]),
  );
}

async function build(copy: string): Promise<void> {
  const built = await run('npm', ['run', 'build'], copy);
  assert.equal(built.code, 0, built.output);
}

async function assertCliRuns(copy: string): Promise<void> {
  assert.ok(
    (statSync(join(copy, CLI_OUTPUT)).mode & 0o111) !== 0,
    `${CLI_OUTPUT} is not executable`,
  );
  // npm_config_yes=false: npx must find the project's own bin, never fetch a package of that name.
  const help = await run('npx', ['cloud-functions-locking', '--help'], copy, {
    npm_config_yes: 'false',
  });
  assert.equal(help.code, 0, help.output);
  assert.match(help.output, /^usage: cloud-functions-locking/);
}

describe('npm run build on a copy of the tree', function () {
  this.timeout(240_000);
  let copy: string;

  before(async () => {
    copy = await copyWorkingTree();
  });
  after(() => rmSync(copy, {recursive: true, force: true}));

  it('leaves the CLI runnable through npx after every build, writes a deleted output again and removes those of a deleted source', async () => {
    writeFileSync(join(copy, `${DOOMED}.ts`), 'export const soon = 1;\n');
    await build(copy);
    assert.ok(existsSync(join(copy, `dist/${DOOMED}.js`)));
    await assertCliRuns(copy);

    // Before the second build a source goes, and so does the CLI's output (dist/ partly deleted:
    // the build-info file still claims it), which the build must write again, executable.
    unlinkSync(join(copy, `${DOOMED}.ts`));
    unlinkSync(join(copy, CLI_OUTPUT));
    await build(copy);
    for (const suffix of ['.js', '.js.map', '.d.ts', '.d.ts.map'])
      assert.ok(
        !existsSync(join(copy, `dist/${DOOMED}${suffix}`)),
        `dist/${DOOMED}${suffix} outlived its source`,
      );
    await assertCliRuns(copy);
  });

  it('on an unchanged tree writes nothing, and npm start refuses a bad flag without building', async () => {
    const built = distTimes(copy);
    await build(copy);
    assert.deepEqual(distTimes(copy), built);

    const started = await run('npm', ['start', '--', '--no-such-flag'], copy);
    assert.equal(started.code, 1, started.output);
    assert.match(started.output, /unknown option "--no-such-flag"/);
    assert.deepEqual(distTimes(copy), built);
  });
});
