#!/usr/bin/env node
/**
 * The second half of `npm run build`, after `tsc -b` (which only rebuilds what changed):
 * - removes compiled outputs whose source is gone. `tsc -b` never deletes anything, and a stale
 *   dist/test/**\/*.test.js of a deleted test would still run (the old build's `rm -rf dist` did this
 *   by rebuilding everything each time);
 * - gives every `bin` entry of package.json its run bit: tsc writes files without it, and
 *   `npx cloud-functions-locking` then fails with "Permission denied".
 * Plain JavaScript because it runs before (and without) anything compiled.
 */
/* global require, __dirname, console */ // Node's CommonJS globals: this file is not TypeScript.
'use strict';
const {
  chmodSync,
  existsSync,
  readdirSync,
  rmdirSync,
  statSync,
  unlinkSync,
} = require('node:fs');
const {join, relative} = require('node:path');

const REPO = join(__dirname, '..');
const DIST = join(REPO, 'dist');
// What tsc emits for one source file X.ts (tsconfig: declaration, sourceMap; rootDir "." so dist/X.* ← X.ts).
const OUTPUT_SUFFIXES = ['.d.ts.map', '.js.map', '.d.ts', '.js'];

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

if (existsSync(DIST)) pruneStaleOutputs(DIST);
makeBinsExecutable();
