import {strict as assert} from 'node:assert';
import {spawnSync} from 'node:child_process';
import {readdirSync, readFileSync} from 'node:fs';
import {join} from 'node:path';

const REPO = join(__dirname, '../../..');

interface MochaConfig {
  readonly spec?: string[];
  readonly require?: string[];
  readonly exit?: boolean;
}

function config(name: string): MochaConfig {
  return JSON.parse(readFileSync(join(REPO, name), 'utf8')) as MochaConfig;
}

function scripts(): Record<string, string> {
  return (
    JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    }
  ).scripts;
}

/** The test directories (below dist/test) that hold at least one *.test.js file. */
function testDirectories(): string[] {
  return readdirSync(join(REPO, 'dist/test'), {withFileTypes: true})
    .filter(entry => entry.isDirectory())
    .map(entry => entry.name)
    .filter(name =>
      readdirSync(join(REPO, 'dist/test', name), {recursive: true}).some(file =>
        String(file).endsWith('.test.js'),
      ),
    );
}

describe('test tiers', () => {
  it('the unit tier loads no service fixture', () => {
    const unit = config('.mocharc.unit.json');
    assert.deepEqual(unit.spec, ['dist/test/unit/**/*.test.js']);
    assert.ok(
      !(unit.require ?? []).some(file => file.includes('global-setup')),
      'the unit tier must not start emulators or memcached',
    );
  });

  it('no tier hides open handles with exit: true', () => {
    for (const name of ['.mocharc.unit.json', '.mocharc.services.json'])
      assert.equal(config(name).exit, undefined, name);
    for (const [script, command] of Object.entries(scripts()))
      assert.ok(!/--exit\b/.test(command), `${script}: ${command}`);
  });

  it('npm test runs the unit tier, then every other test directory in one mocha run with the fixture', () => {
    const all = scripts();
    assert.equal(
      all.test,
      'npm run build && npm run mocha:unit && npm run mocha:services',
    );
    const services =
      /^mocha --config \.mocharc\.services\.json 'dist\/test\/\{([a-z0-9,]+)\}\/\*\*\/\*\.test\.js'$/.exec(
        all['mocha:services'] ?? '',
      );
    assert.ok(services, `mocha:services: ${all['mocha:services']}`);
    const serviceDirectories = (services[1] ?? '').split(',');
    assert.ok(!serviceDirectories.includes('unit'));
    assert.deepEqual(
      [...serviceDirectories, 'unit'].sort(),
      testDirectories().sort(),
      'every directory with tests is in exactly one tier',
    );
    for (const directory of serviceDirectories)
      assert.match(
        all[`test:${directory}`] ?? '',
        /--config \.mocharc\.services\.json/,
        `test:${directory} runs with the service fixture`,
      );
  });

  it('every script that runs compiled code builds first (npm run build: incremental, so cheap when nothing changed)', () => {
    const all = scripts();
    assert.equal(all.build, 'node scripts/build.js');
    assert.equal(all.prestart, 'npm run build');
    for (const [script, command] of Object.entries(all)) {
      if (
        ['start', 'mocha:unit', 'mocha:services', 'lint', 'fix'].includes(
          script,
        )
      )
        continue;
      if (/\bdist\/|\bmocha\b/.test(command))
        assert.match(command, /^npm run build && /, `${script}: ${command}`);
    }
  });

  describe('a handle left open after the last test', () => {
    const fixture = join(__dirname, 'fixtures/server-left-open.js');
    const mocha = (env: NodeJS.ProcessEnv) =>
      spawnSync(
        process.execPath,
        [
          join(REPO, 'node_modules/mocha/bin/mocha.js'),
          '--no-config',
          '--require',
          join(REPO, 'dist/test/support/open-handles.js'),
          fixture,
        ],
        {
          env: {...process.env, OPEN_HANDLES_GRACE_MS: '300', ...env},
          timeout: 20_000,
          encoding: 'utf8',
        },
      );

    it('fails the run and names it, instead of hanging', () => {
      const run = mocha({CLOSE_SERVER: ''});
      assert.equal(run.signal, null, 'mocha ended by itself');
      assert.equal(run.status, 1, run.stdout + run.stderr);
      assert.match(
        run.stderr,
        /handles left open after the last test.*TCPServerWrap/,
      );
      assert.match(run.stderr, /Server \{"address":"127\.0\.0\.1"/);
    });

    it('closed by the test: the run passes and ends by itself', () => {
      const run = mocha({CLOSE_SERVER: '1'});
      assert.equal(run.signal, null, 'mocha ended by itself');
      assert.equal(run.status, 0, run.stdout + run.stderr);
    });
  });
});
