#!/usr/bin/env node
/**
 * `npm run build`: compile only what changed, and leave dist/ exactly what a clean build would.
 * - `tsc -b` with `incremental` (tsconfig.json): an unchanged tree builds nothing (~2 s instead of a
 *   full 12-35 s compile), an edit recompiles what it touches. Its build-info file lives in dist/,
 *   so `npm run clean` (rm -rf dist) also forgets it.
 * - tsc -b trusts its build-info file, not dist/: when a compiled output has gone (dist/ partly
 *   deleted), the build-info file is dropped first, so everything is compiled again.
 * - tsc -b never deletes anything: outputs whose source is gone are removed after it (a stale
 *   dist/test/**\/*.test.js of a deleted test would still run). The old build's `rm -rf dist` did both
 *   by compiling everything every time.
 * - Every `bin` entry of package.json gets its run bit: tsc writes files without it, and
 *   `npx cloud-functions-locking` then failed with "Permission denied".
 * Plain JavaScript because it runs before (and without) anything compiled.
 */
/* global require, __dirname, console, process */ // Node's CommonJS globals: this file is not TypeScript.
'use strict';
const {spawnSync} = require('node:child_process');
const {
  chmodSync,
  copyFileSync,
  existsSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  unlinkSync,
} = require('node:fs');
const {join, relative} = require('node:path');

const REPO = join(__dirname, '..');
const DIST = join(REPO, 'dist');
const BUILD_INFO = join(DIST, 'tsconfig.tsbuildinfo');
// What tsc emits for one source file X.ts (tsconfig: declaration, sourceMap; rootDir "." so dist/X.* ← X.ts).
const OUTPUT_SUFFIXES = ['.d.ts.map', '.js.map', '.d.ts', '.js'];

/** The .ts sources tsc compiles: below the folders of tsconfig.json's `include` ("shared/**\/*.ts" → shared). */
function sources() {
  const {include} = JSON.parse(
    readFileSync(join(REPO, 'tsconfig.json'), 'utf8'),
  );
  return include.flatMap(pattern => {
    const folder = join(REPO, pattern.split('/**')[0]);
    if (!existsSync(folder)) return [];
    return readdirSync(folder, {recursive: true})
      .map(String)
      .filter(file => file.endsWith('.ts') && !file.endsWith('.d.ts'))
      .map(file => join(folder, file));
  });
}

function someOutputMissing() {
  return sources().some(
    source =>
      !existsSync(join(DIST, relative(REPO, source)).slice(0, -3) + '.js'),
  );
}

/** Removes outputs without a source below `directory`; returns whether the directory is now empty. */
function pruneStaleOutputs(directory) {
  let left = 0;
  for (const entry of readdirSync(directory, {withFileTypes: true})) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) {
      if (pruneStaleOutputs(path)) rmdirSync(path);
      else left++;
      continue;
    }
    const suffix = OUTPUT_SUFFIXES.find(ending => entry.name.endsWith(ending));
    const source =
      suffix &&
      join(REPO, relative(DIST, path).slice(0, -suffix.length) + '.ts');
    if (source && !existsSync(source)) {
      unlinkSync(path);
      console.log(
        `build: removed ${relative(REPO, path)} (its source is gone)`,
      );
    } else left++;
  }
  return left === 0;
}

function makeBinsExecutable() {
  const {bin} = require(join(REPO, 'package.json'));
  const entries = typeof bin === 'string' ? [bin] : Object.values(bin ?? {});
  for (const entry of entries) {
    const path = join(REPO, entry);
    chmodSync(path, statSync(path).mode | 0o111);
  }
}

/**
 * dist/shared is the library's package (`npm run pack` packs it): its manifest is
 * shared/package.json (the entries, the store clients as optional peers), beside the README.
 */
function shipLibraryManifest() {
  for (const [from, to] of [
    ['shared/package.json', 'dist/shared/package.json'],
    ['README.md', 'dist/shared/README.md'],
  ]) {
    const [source, target] = [join(REPO, from), join(REPO, to)];
    // An unchanged tree writes nothing: a copy only when the content differs.
    const same =
      existsSync(target) && readFileSync(source).equals(readFileSync(target));
    if (!same) copyFileSync(source, target);
  }
}

if (existsSync(BUILD_INFO) && someOutputMissing()) {
  console.log(
    'build: dist/ lacks outputs its build-info file claims: compiling everything',
  );
  rmSync(BUILD_INFO);
}
const tsc = spawnSync(
  process.execPath,
  [require.resolve('typescript/bin/tsc', {paths: [REPO]}), '-b', REPO],
  {stdio: 'inherit'},
);
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
pruneStaleOutputs(DIST);
makeBinsExecutable();
shipLibraryManifest();
