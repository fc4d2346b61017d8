import {strict as assert} from 'node:assert';
import {spawnSync} from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join, relative, resolve} from 'node:path';

/**
 * `npm run api:check` / `api:update` (scripts/api-report.js) run as CI runs them, as a child
 * `node`, on the build and on copies of its .d.ts tree changed the way a commit would change it.
 */
const REPO = join(__dirname, '../../..');
const SCRIPT = join(REPO, 'scripts/api-report.js');
const COMMITTED = join(REPO, 'api/cloud-functions-locking.api.md');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function apiReport(...args: string[]): Run {
  const {status, stdout, stderr} = spawnSync(
    process.execPath,
    [SCRIPT, ...args],
    {cwd: REPO, encoding: 'utf8'},
  );
  return {status, stdout, stderr};
}

function declarationFiles(directory: string): string[] {
  return readdirSync(directory, {recursive: true})
    .map(String)
    .filter(file => file.endsWith('.d.ts'))
    .map(file => join(directory, file))
    .sort();
}

/** The build's library as shipped types only: its .d.ts files (and its manifest, once it has one). */
function copyShippedTypes(into: string): string {
  cpSync(join(REPO, 'dist/shared'), join(into, 'shared'), {
    recursive: true,
    filter: source =>
      statSync(source).isDirectory() ||
      source.endsWith('.d.ts') ||
      source === join(REPO, 'dist/shared/package.json'),
  });
  return into;
}

/** The .d.ts a relative specifier leads to (`./x` → x.d.ts or x/index.d.ts). */
function targetOf(fromDirectory: string, specifier: string): string {
  const base = resolve(fromDirectory, specifier);
  for (const candidate of [base + '.d.ts', join(base, 'index.d.ts')]) {
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`${specifier} from ${fromDirectory} leads to no .d.ts`);
}

const RELATIVE_SPECIFIER = /(from\s+|import\s*\(\s*)(['"])(\.{1,2}\/[^'"]*)\2/g;

/**
 * Moves one .d.ts file of `root` to `to` and rewrites every relative specifier that named it (and
 * the moved file's own), as a refactoring that only moves the file would. Returns how many other
 * files had to change.
 */
function moveDeclarationFile(root: string, from: string, to: string): number {
  const oldPath = join(root, from);
  const newPath = join(root, to);
  assert.ok(existsSync(oldPath), `${from} is in the build`);
  const rewrites = declarationFiles(root).map(file => {
    const text = readFileSync(file, 'utf8');
    const home = file === oldPath ? newPath : file;
    const next = text.replace(
      RELATIVE_SPECIFIER,
      (_whole, lead: string, quote: string, specifier: string) => {
        let target = targetOf(dirname(file), specifier);
        if (target === oldPath) target = newPath;
        let path = relative(dirname(home), target).replace(/\.d\.ts$/, '');
        if (!path.startsWith('.')) path = './' + path;
        return lead + quote + path + quote;
      },
    );
    return {file, home, text, next};
  });
  mkdirSync(dirname(newPath), {recursive: true});
  let importers = 0;
  for (const {file, home, text, next} of rewrites) {
    if (file !== oldPath && next !== text) importers++;
    writeFileSync(home, next);
  }
  unlinkSync(oldPath);
  return importers;
}

/** The one .d.ts of `root` whose text contains `marker`. */
function fileDeclaring(root: string, marker: string): string {
  const files = declarationFiles(root).filter(file =>
    readFileSync(file, 'utf8').includes(marker),
  );
  assert.equal(files.length, 1, `one file declares ${marker}: ${files}`);
  return files[0]!;
}

describe('the public API report (npm run api:check)', function () {
  // Each run is a child node compiling the library's .d.ts: ~1-3 s on a busy machine.
  this.timeout(60_000);
  let scratch: string;
  let entry: string;

  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'api-report-'));
    entry = /^## (.+)$/m.exec(readFileSync(COMMITTED, 'utf8'))![1]!;
  });
  after(() => rmSync(scratch, {recursive: true, force: true}));

  it('passes on the tree as built, and reads nothing but the shipped .d.ts files', () => {
    const built = apiReport('--check');
    assert.equal(built.status, 0, built.stderr);
    assert.match(built.stdout, /matches/);

    const typesOnly = copyShippedTypes(join(scratch, 'types-only'));
    const copied = apiReport('--check', '--dist', typesOnly);
    assert.equal(copied.status, 0, copied.stderr);
  });

  it('fails on a changed public declaration, names the export and shows the change', () => {
    const changed = copyShippedTypes(join(scratch, 'changed'));
    const file = fileDeclaring(changed, 'export interface LockOptions {');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(
        'export interface LockOptions {',
        'export interface LockOptions {\n    addedByTheTest?: string;',
      ),
    );
    const check = apiReport('--check', '--dist', changed);
    assert.equal(check.status, 1, check.stdout);
    const changedLine = /^ {2}changed: (.*)$/m.exec(check.stderr)?.[1];
    assert.ok(changedLine, check.stderr);
    const names = changedLine.split('; ');
    assert.ok(names.includes(`${entry}: LockOptions`), changedLine);
    // Only what changed is named (in every entry that exports or reaches it): the types that
    // merely refer to LockOptions by name are unchanged.
    assert.ok(
      names.every(name => /: LockOptions( \(not exported\))?$/.test(name)),
      changedLine,
    );
    assert.match(check.stderr, /^\+ {4}addedByTheTest\?: string;$/m);
    assert.match(check.stderr, /npm run api:update/);
  });

  it('names an export that is gone, and one that is now only reached from others', () => {
    const removed = copyShippedTypes(join(scratch, 'removed'));
    const index = join(removed, 'shared/index.d.ts');
    let text = readFileSync(index, 'utf8');
    for (const name of ['MIN_LEASE_MS', 'LockRecord']) {
      const without = text.replace(new RegExp(`\\b${name}\\b,?\\s*`), '');
      assert.notEqual(without, text, `index.d.ts exports ${name}`);
      text = without;
    }
    writeFileSync(index, text);
    const check = apiReport('--check', '--dist', removed);
    assert.equal(check.status, 1, check.stdout);
    const listed = (label: string) =>
      new RegExp(`^ {2}${label}: (.*)$`, 'm')
        .exec(check.stderr)?.[1]
        ?.split('; ') ?? [];
    assert.ok(
      listed('removed').includes(`${entry}: MIN_LEASE_MS`),
      check.stderr,
    );
    assert.ok(listed('removed').includes(`${entry}: LockRecord`), check.stderr);
    // LockBackend and others still show it: its declaration now sits with the reached types.
    assert.ok(
      listed('added').includes(`${entry}: LockRecord (not exported)`),
      check.stderr,
    );
  });

  it('does not change when a file moves with the same declarations', () => {
    const moved = copyShippedTypes(join(scratch, 'moved'));
    const from = relative(
      moved,
      fileDeclaring(moved, 'interface LockRecord {'),
    );
    const importers = moveDeclarationFile(
      moved,
      from,
      'shared/moved/by/the-test/renamed.d.ts',
    );
    assert.ok(importers >= 2, `${from} had ${importers} importers`);
    const check = apiReport('--check', '--dist', moved);
    assert.equal(check.status, 0, check.stderr);
  });

  describe('on a small .d.ts tree', () => {
    let tree: string;
    const write = (path: string, text: string) => {
      mkdirSync(dirname(join(tree, path)), {recursive: true});
      writeFileSync(join(tree, path), text);
    };
    const print = () => {
      const run = apiReport('--dist', tree);
      assert.equal(run.status, 0, run.stderr);
      return run.stdout;
    };

    beforeEach(() => {
      tree = mkdtempSync(join(scratch, 'tree-'));
      write(
        'shared/index.d.ts',
        [
          "export { make as create } from './make';",
          "export type { Shape } from './shape';",
          "export { old, tagged } from './tagged';",
          "export { Key } from '@google-cloud/datastore';",
        ].join('\n'),
      );
      write(
        'shared/make.d.ts',
        [
          "import type { Datastore } from '@google-cloud/datastore';",
          '/** Comments are not the API. */',
          'export declare function make(store: Datastore, bytes: Buffer): import("./shape").Shape;',
          'export declare function make(hidden: import("./hidden").Hidden): void;',
        ].join('\n'),
      );
      write(
        'shared/shape.d.ts',
        // As tsc writes them: a JSDoc comment on its own line (TypeScript ignores one after code).
        [
          'export interface Shape {',
          '    size: number;',
          '    /** @internal why */',
          '    inner?: number;',
          '}',
        ].join('\n'),
      );
      write(
        'shared/tagged.d.ts',
        [
          '/** @deprecated use create */',
          'export declare const old: number;',
          '/** Says what it does. @beta */',
          'export declare function tagged(): void;',
        ].join('\n'),
      );
      write('shared/hidden.d.ts', 'export type Hidden = { secret: string }');
    });

    it('follows renamed re-exports, prints overloads in order, and names no file', () => {
      const report = print();
      assert.match(
        report,
        /### create \(function\)\n\n```ts\ndeclare function make\(store: Datastore, bytes: Buffer\): Shape;\ndeclare function make\(hidden: Hidden\): void;\n```/,
      );
      assert.match(
        report,
        /### Key \(re-export\)\n\n```ts\nexport \{ Key \} from '@google-cloud\/datastore';\n```/,
      );
      assert.match(report, /#### Hidden \(type\)/);
      assert.match(report, /`@google-cloud\/datastore`\./);
      assert.match(report, /do not declare .*: `Buffer`\./);
      assert.doesNotMatch(report, /\.\.?\/|[\w-]\.d\.ts|Comments are not/);
    });

    it('keeps the release tags (@internal, @deprecated, @beta) as markers, and no other comment', () => {
      const report = print();
      assert.match(
        report,
        /\n {4}size: number;\n {4}\/\/ @internal\n {4}inner\?: number;\n/,
      );
      assert.match(
        report,
        /```ts\n\/\/ @deprecated\ndeclare const old: number;\n```/,
      );
      assert.match(
        report,
        /```ts\n\/\/ @beta\ndeclare function tagged\(\): void;\n```/,
      );
      assert.doesNotMatch(report, /why|use create|Says what/);
    });

    it('prints the same report after a file moves into a folder', () => {
      const before = print();
      assert.ok(
        moveDeclarationFile(
          tree,
          'shared/shape.d.ts',
          'shared/a/b/shape.d.ts',
        ) >= 2,
      );
      assert.ok(
        readFileSync(join(tree, 'shared/make.d.ts'), 'utf8').includes(
          'import("./a/b/shape")',
        ),
      );
      assert.equal(print(), before);
    });

    it('reads the entry points of the library manifest, each with its own packages', () => {
      write(
        'shared/package.json',
        JSON.stringify({
          name: 'some-library',
          exports: {
            '.': {types: './index.d.ts', default: './index.js'},
            './shape': {types: './shape.d.ts', default: './shape.js'},
            './package.json': './package.json',
          },
        }),
      );
      const report = print();
      assert.deepEqual(
        [...report.matchAll(/^## (.+)$/gm)].map(match => match[1]),
        ['some-library', 'some-library/shape'],
      );
      const shapeEntry = report.slice(report.indexOf('## some-library/shape'));
      assert.match(shapeEntry, /import .*: none\./);
      assert.match(shapeEntry, /### Shape \(interface\)/);
    });
  });

  it('says to build first when there is no build, and refuses unknown options', () => {
    const noBuild = apiReport('--check', '--dist', join(scratch, 'nothing'));
    assert.equal(noBuild.status, 2);
    assert.match(noBuild.stderr, /npm run build/);
    const unknown = apiReport('--chek');
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /usage:/);
  });

  it('reports a missing committed report as such, without a diff of everything', () => {
    const check = apiReport('--check', '--report', join(scratch, 'none.md'));
    assert.equal(check.status, 1);
    assert.match(check.stderr, /no committed API report .*npm run api:update/);
    assert.doesNotMatch(check.stderr, /^\+/m);
  });
});
