/**
 * The packages outside the library that an entry point's .d.ts files name: a consumer who
 * type-checks against the entry (without skipLibCheck) needs each installed. Read from the import
 * specifiers of every library file the entry reaches, so it holds whether or not the packages
 * are installed where the report runs.
 */
/* global require, module */ // Node's CommonJS globals: this file is not TypeScript.
'use strict';
const {isBuiltin} = require('node:module');
const ts = require('typescript');
const {isRelative} = require('./program');
const {ApiReportError} = require('./errors');
const {compareText} = require('./entry-points');

/** The npm package a specifier names: `@scope/name`, `name`; Node's own modules come from @types/node. */
function packageOf(specifier) {
  if (specifier.startsWith('node:') || isBuiltin(specifier)) {
    return '@types/node';
  }
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Every module specifier a .d.ts file names: imports, re-exports, import() types, `declare module`. */
function specifiersOf(sourceFile) {
  const found = [];
  const visit = node => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      found.push(node.moduleSpecifier.text);
    } else if (
      ts.isImportEqualsDeclaration(node) &&
      ts.isExternalModuleReference(node.moduleReference) &&
      ts.isStringLiteral(node.moduleReference.expression)
    ) {
      found.push(node.moduleReference.expression.text);
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      found.push(node.argument.literal.text);
    } else if (ts.isModuleDeclaration(node) && ts.isStringLiteral(node.name)) {
      found.push(node.name.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return found;
}

/** Sorted package names reached from `entryFile` through the library's relative imports. */
function externalPackages(program, resolve, entryFile) {
  const packages = new Set();
  const seen = new Set();
  const queue = [entryFile];
  while (queue.length > 0) {
    const file = queue.pop();
    if (seen.has(file)) continue;
    seen.add(file);
    const sourceFile = program.getSourceFile(file);
    if (!sourceFile) {
      throw new ApiReportError(`the build has no ${file}`);
    }
    for (const directive of sourceFile.typeReferenceDirectives) {
      packages.add(
        directive.fileName === 'node'
          ? '@types/node'
          : `@types/${directive.fileName}`,
      );
    }
    for (const specifier of specifiersOf(sourceFile)) {
      if (!isRelative(specifier)) {
        packages.add(packageOf(specifier));
        continue;
      }
      const target = resolve(specifier, file);
      if (!target) {
        throw new ApiReportError(
          `a shipped .d.ts imports "${specifier}", which is not in the build`,
        );
      }
      queue.push(target);
    }
  }
  return [...packages].sort(compareText);
}

module.exports = {externalPackages, packageOf};
