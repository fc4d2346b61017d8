/**
 * A TypeScript program over the library's shipped .d.ts files only. Relative imports resolve (they
 * are the library); package imports are left unresolved on purpose: the report prints what the
 * library declares, not what its dependencies do, and loading them (Google's generated protos)
 * would cost seconds. Which packages are reached is read from the import specifiers instead.
 */
/* global require, module */ // Node's CommonJS globals: this file is not TypeScript.
'use strict';
const {join} = require('node:path');
const ts = require('typescript');

/**
 * The standard libraries the library compiles with (tsconfig.json `lib`): a global type they do not
 * declare (Buffer, from @types/node) is one more thing a consumer must have to type-check.
 */
function projectLibs(repoDir) {
  const {config, error} = ts.readConfigFile(
    join(repoDir, 'tsconfig.json'),
    ts.sys.readFile,
  );
  if (error) return {libNames: [], lib: undefined};
  const libNames = config.compilerOptions?.lib ?? [];
  const {options} = ts.convertCompilerOptionsFromJson({lib: libNames}, repoDir);
  return {libNames, lib: options.lib};
}

const BASE_OPTIONS = {
  types: [],
  noEmit: true,
  skipLibCheck: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.CommonJS,
  moduleResolution: ts.ModuleResolutionKind.Node10,
};

function isRelative(specifier) {
  return specifier.startsWith('./') || specifier.startsWith('../');
}

/**
 * {program, resolve(specifier, fromFile)}: `resolve` answers the .d.ts a relative specifier of a
 * library file leads to (undefined for a package, or a relative import that leads nowhere).
 */
function createLibraryProgram(rootFiles, repoDir) {
  const {lib} = projectLibs(repoDir);
  const OPTIONS = {...BASE_OPTIONS, ...(lib ? {lib} : {noLib: true})};
  const host = ts.createCompilerHost(OPTIONS, true);
  const resolve = (specifier, fromFile) => {
    if (!isRelative(specifier)) return undefined;
    const {resolvedModule} = ts.resolveModuleName(
      specifier,
      fromFile,
      OPTIONS,
      host,
    );
    return resolvedModule?.resolvedFileName;
  };
  host.resolveModuleNameLiterals = (literals, containingFile) =>
    literals.map(literal => {
      const resolvedFileName = resolve(literal.text, containingFile);
      return {
        resolvedModule: resolvedFileName && {
          resolvedFileName,
          extension: ts.Extension.Dts,
          isExternalLibraryImport: false,
        },
      };
    });
  host.resolveTypeReferenceDirectiveReferences = references =>
    references.map(() => ({resolvedTypeReferenceDirective: undefined}));
  const program = ts.createProgram({
    rootNames: rootFiles,
    options: OPTIONS,
    host,
  });
  return {program, resolve};
}

module.exports = {createLibraryProgram, isRelative, projectLibs};
