#!/usr/bin/env node
/**
 * The library's public API report: every entry point of the library's manifest
 * (dist/shared/package.json `exports`, or dist/shared/index.d.ts alone while there is none), with
 * every exported name, its kind and its declarations, and the packages its .d.ts files import.
 *
 *   node scripts/api-report.js            print the report of the build
 *   node scripts/api-report.js --update   write it to api/cloud-functions-locking.api.md
 *   node scripts/api-report.js --check    exit 1, with a diff, when it differs from that file
 *   --dist DIR     the compiled tree to read (default dist/; its shared/ is the library)
 *   --report FILE  the committed report (default api/cloud-functions-locking.api.md)
 *
 * It reads the built .d.ts, not the sources: what is shipped is what consumers compile against.
 * Not api-extractor: it reports one entry point per run, and this package has several.
 * Plain JavaScript because it runs in CI on a fresh build, with nothing else compiled.
 */
/* global require, __dirname, console, process */ // Node's CommonJS globals: this file is not TypeScript.
'use strict';
const {existsSync, mkdirSync, readFileSync, writeFileSync} = require('node:fs');
const {dirname, join, relative, resolve} = require('node:path');
const {parseArgs} = require('node:util');
const {ApiReportError} = require('./api-report/errors');
const {entryPoints} = require('./api-report/entry-points');
const {createLibraryProgram, projectLibs} = require('./api-report/program');
const {DeclarationReader} = require('./api-report/declarations');
const {externalPackages} = require('./api-report/external-packages');
const {renderReport, changedSections} = require('./api-report/render');
const {unifiedDiff} = require('./api-report/unified-diff');

const REPO = join(__dirname, '..');
const USAGE =
  'usage: node scripts/api-report.js [--check | --update] [--dist DIR] [--report FILE]';

function parseOptions(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        check: {type: 'boolean'},
        update: {type: 'boolean'},
        dist: {type: 'string'},
        report: {type: 'string'},
        help: {type: 'boolean'},
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new ApiReportError(`${error.message}\n${USAGE}`);
  }
  const {values} = parsed;
  if (values.check && values.update) {
    throw new ApiReportError(
      `--check and --update exclude each other\n${USAGE}`,
    );
  }
  return {
    mode: values.help
      ? 'help'
      : values.check
        ? 'check'
        : values.update
          ? 'update'
          : 'print',
    distDir: resolve(values.dist ?? join(REPO, 'dist')),
    reportFile: resolve(
      values.report ?? join(REPO, 'api/cloud-functions-locking.api.md'),
    ),
  };
}

/** The report of the compiled tree at `distDir`. */
function buildReport(distDir) {
  const notBuilt =
    'run `npm run build` first: the API report reads the built .d.ts files';
  if (!existsSync(join(distDir, 'shared'))) {
    throw new ApiReportError(
      `no built library in ${distDir} (no shared/ there): ${notBuilt}`,
    );
  }
  const {packageName, entries} = entryPoints(distDir, REPO);
  for (const {importPath, file} of entries) {
    if (!existsSync(file)) {
      throw new ApiReportError(
        `the build has no ${file} (the types of ${importPath}): ${notBuilt}`,
      );
    }
  }
  const {program, resolve: resolveImport} = createLibraryProgram(
    entries.map(({file}) => file),
    REPO,
  );
  const reader = new DeclarationReader(program, join(distDir, 'shared'));
  return renderReport(
    packageName,
    projectLibs(REPO).libNames,
    entries.map(({importPath, file}) => ({
      importPath,
      packages: externalPackages(program, resolveImport, file),
      ...reader.read(file, program),
    })),
  );
}

/** "a; b; c" with at most `limit` names, so a wholesale change stays readable. */
function listed(keys, limit = 25) {
  const shown = keys.slice(0, limit).join('; ');
  return keys.length > limit
    ? `${shown}; and ${keys.length - limit} more`
    : shown;
}

function check(report, reportFile) {
  const shown = relative(process.cwd(), reportFile) || reportFile;
  if (!existsSync(reportFile)) {
    console.error(
      `api:check: there is no committed API report at ${shown}: run \`npm run api:update\`, review it and commit it.`,
    );
    return 1;
  }
  const committed = readFileSync(reportFile, 'utf8');
  if (committed === report) {
    console.log(`api:check: the built API matches ${shown}`);
    return 0;
  }
  const lines = [`api:check: the built API differs from ${shown}.`];
  const {added, removed, changed} = changedSections(committed, report);
  for (const [label, keys] of [
    ['changed', changed],
    ['added', added],
    ['removed', removed],
  ]) {
    if (keys.length > 0) lines.push(`  ${label}: ${listed(keys)}`);
  }
  lines.push(
    '',
    unifiedDiff(committed, report, `${shown} (committed)`, `${shown} (built)`),
    '',
    'If this change to the public API is intended, run `npm run api:update` and commit the report',
    'with it; otherwise change the code so that the API stays as it was.',
  );
  console.error(lines.join('\n'));
  return 1;
}

function main(argv) {
  const {mode, distDir, reportFile} = parseOptions(argv);
  if (mode === 'help') {
    console.log(USAGE);
    return 0;
  }
  const report = buildReport(distDir);
  if (mode === 'print') {
    process.stdout.write(report);
    return 0;
  }
  if (mode === 'check') return check(report, reportFile);
  mkdirSync(dirname(reportFile), {recursive: true});
  writeFileSync(reportFile, report);
  console.log(
    `api:update: wrote ${relative(process.cwd(), reportFile) || reportFile} (${report.split('\n').length - 1} lines)`,
  );
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof ApiReportError)) throw error;
  console.error(`api-report: ${error.message}`);
  process.exitCode = 2;
}
