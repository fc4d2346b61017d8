/**
 * The library's entry points, from the types condition of `dist/shared/package.json`'s `exports`
 * (the library's own manifest). Until that manifest exists, the one entry `dist/shared/index.d.ts`,
 * named after the repository's package.json.
 */
/* global require, module */ // Node's CommonJS globals: this file is not TypeScript.
'use strict';
const {existsSync, readFileSync} = require('node:fs');
const {join} = require('node:path');
const {ApiReportError} = require('./errors');

/** Where a conditional export's .d.ts is: its `types` condition, else its JavaScript's twin. */
function typesTarget(target, subpath) {
  if (typeof target === 'string') return declarationOf(target, subpath);
  if (target === null || typeof target !== 'object' || Array.isArray(target)) {
    throw new ApiReportError(
      `exports["${subpath}"] is neither a path nor a map of conditions`,
    );
  }
  if (typeof target.types === 'string') return target.types;
  for (const condition of ['require', 'import', 'node', 'default']) {
    if (condition in target) return typesTarget(target[condition], subpath);
  }
  throw new ApiReportError(
    `exports["${subpath}"] names no types (no "types" condition, no .js to pair a .d.ts with)`,
  );
}

function declarationOf(path, subpath) {
  if (path.endsWith('.d.ts')) return path;
  if (path.endsWith('.js')) return path.slice(0, -'.js'.length) + '.d.ts';
  throw new ApiReportError(
    `exports["${subpath}"] points at ${path}, which has no .d.ts twin`,
  );
}

/** The import path a consumer writes for one subpath of the exports map. */
function importPath(packageName, subpath) {
  return subpath === '.' ? packageName : packageName + subpath.slice(1);
}

/**
 * {packageName, entries: [{importPath, file}]}: every types entry point, sorted by import path. `distDir` is the
 * compiled tree (its `shared/` is the library), `repoDir` the repository (its package.json names
 * the package while the library has no manifest of its own).
 */
function entryPoints(distDir, repoDir) {
  const libraryDir = join(distDir, 'shared');
  const manifestPath = join(libraryDir, 'package.json');
  if (!existsSync(manifestPath)) {
    const {name} = JSON.parse(
      readFileSync(join(repoDir, 'package.json'), 'utf8'),
    );
    return {
      packageName: name,
      entries: [{importPath: name, file: join(libraryDir, 'index.d.ts')}],
    };
  }
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch (error) {
    throw new ApiReportError(
      `shared/package.json in the build is not JSON: ${error.message}`,
    );
  }
  const {name, exports} = manifest;
  if (typeof name !== 'string' || name === '') {
    throw new ApiReportError('shared/package.json in the build has no name');
  }
  if (
    !exports ||
    (typeof exports !== 'object' && typeof exports !== 'string')
  ) {
    throw new ApiReportError(
      'shared/package.json in the build has no exports map',
    );
  }
  // Node's sugar: a path, or a map of conditions, alone stands for the "." entry.
  const isSubpathMap =
    typeof exports === 'object' &&
    Object.keys(exports).some(key => key.startsWith('.'));
  const map = isSubpathMap ? exports : {'.': exports};
  if (Object.keys(map).length === 0) {
    throw new ApiReportError(
      'shared/package.json in the build has no exports map',
    );
  }
  const entries = Object.keys(map)
    .filter(subpath => !subpath.endsWith('.json'))
    .map(subpath => {
      if (subpath.includes('*')) {
        throw new ApiReportError(
          `exports["${subpath}"]: subpath patterns are not supported; name each entry point`,
        );
      }
      return {
        importPath: importPath(name, subpath),
        file: join(libraryDir, typesTarget(map[subpath], subpath)),
      };
    })
    .sort((a, b) => compareText(a.importPath, b.importPath));
  return {packageName: name, entries};
}

/** Code-unit order: the same on every machine, whatever its locale. */
function compareText(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

module.exports = {entryPoints, compareText};
