/**
 * An entry point's exported names, each with its kind and its declarations as the shipped .d.ts
 * declares them, following re-exports and aliases to where the name is declared. Printed without
 * comments and without anything that names a file (a relative `import("./x").T` becomes `T`), so
 * moving a file leaves the text unchanged. Also the library's declarations that exported ones
 * reach but that the entry does not export (a consumer meets them and cannot name them).
 */
/* global require, module */ // Node's CommonJS globals: this file is not TypeScript.
'use strict';
const ts = require('typescript');
const {isRelative} = require('./program');
const {compareText} = require('./entry-points');
const {ApiReportError} = require('./errors');

// Comments are dropped node by node (forTheReport), so that the release tags can stay.
const printer = ts.createPrinter({
  removeComments: false,
  newLine: ts.NewLineKind.LineFeed,
});

/** The kind a declaration node gives its name, in the order declarations of one name are listed. */
const KIND_ORDER = [
  'namespace',
  'enum',
  'class',
  'interface',
  'type',
  'function',
  'const',
  'let',
  'var',
];

function kindOf(node) {
  if (ts.isFunctionDeclaration(node)) return 'function';
  if (ts.isClassDeclaration(node)) return 'class';
  if (ts.isInterfaceDeclaration(node)) return 'interface';
  if (ts.isTypeAliasDeclaration(node)) return 'type';
  if (ts.isEnumDeclaration(node)) return 'enum';
  if (ts.isModuleDeclaration(node) || ts.isSourceFile(node)) return 'namespace';
  if (ts.isVariableDeclaration(node)) {
    const flags = node.parent.flags;
    if (flags & ts.NodeFlags.Const) return 'const';
    if (flags & ts.NodeFlags.Let) return 'let';
    return 'var';
  }
  return ts.SyntaxKind[node.kind];
}

function kindRank(kind) {
  const rank = KIND_ORDER.indexOf(kind);
  return rank === -1 ? KIND_ORDER.length : rank;
}

/**
 * The JSDoc tags that change what a declaration promises: kept as a `// @tag` line where every
 * other comment goes, so marking a member @internal or @deprecated shows in the report's diff.
 */
const RELEASE_TAGS = ['alpha', 'beta', 'deprecated', 'internal'];

function markReleaseTags(printed, original) {
  const tags = ts
    .getJSDocTags(original)
    .map(tag => tag.tagName.text)
    .filter(tag => RELEASE_TAGS.includes(tag));
  if (tags.length > 0) {
    ts.addSyntheticLeadingComment(
      printed,
      ts.SyntaxKind.SingleLineCommentTrivia,
      ' ' + [...new Set(tags)].map(tag => '@' + tag).join(' '),
      true,
    );
  }
  return printed;
}

/**
 * Where a tag is printed: on members and declarations, not on their names (which TypeScript
 * answers with their declaration's tags) nor on a variable (its statement is marked instead).
 */
function carriesTags(node) {
  return (
    ts.isClassElement(node) ||
    ts.isTypeElement(node) ||
    ts.isEnumMember(node) ||
    ts.isFunctionDeclaration(node) ||
    ts.isClassDeclaration(node) ||
    ts.isInterfaceDeclaration(node) ||
    ts.isTypeAliasDeclaration(node) ||
    ts.isEnumDeclaration(node) ||
    ts.isModuleDeclaration(node)
  );
}

/**
 * What the report prints of a declaration: no source comments (the release tags aside), and no
 * file: `import("./x").T` → `T`, `typeof import("./x").v` → `typeof v`.
 */
function forTheReport(context) {
  const {factory} = context;
  const visit = node => {
    let printed;
    if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal) &&
      isRelative(node.argument.literal.text)
    ) {
      const typeArguments = node.typeArguments
        ? ts.visitNodes(node.typeArguments, visit)
        : undefined;
      if (!node.qualifier) {
        // `import("./x")` alone is a whole library module: say so without its path.
        printed = factory.updateImportTypeNode(
          node,
          factory.createLiteralTypeNode(
            factory.createStringLiteral('(library module)'),
          ),
          node.attributes,
          undefined,
          typeArguments,
          node.isTypeOf,
        );
      } else {
        printed = node.isTypeOf
          ? factory.createTypeQueryNode(node.qualifier, typeArguments)
          : factory.createTypeReferenceNode(node.qualifier, typeArguments);
      }
    } else {
      printed = ts.visitEachChild(node, visit, context);
    }
    ts.setEmitFlags(
      printed,
      ts.getEmitFlags(printed) | ts.EmitFlags.NoComments,
    );
    return carriesTags(node) ? markReleaseTags(printed, node) : printed;
  };
  return visit;
}

/** One declaration as text: no file paths, no `export`/`default` (the heading says it is exported). */
function printDeclaration(node) {
  const sourceFile = node.getSourceFile();
  if (ts.isSourceFile(node)) {
    return `namespace (the whole module ${'`'}export * as${'`'})`;
  }
  let printable = node;
  if (ts.isVariableDeclaration(node)) {
    // A statement may declare several names: print this one alone, as its own statement.
    printable = ts.factory.createVariableStatement(
      [ts.factory.createModifier(ts.SyntaxKind.DeclareKeyword)],
      ts.factory.createVariableDeclarationList(
        [node],
        node.parent.flags & (ts.NodeFlags.Const | ts.NodeFlags.Let),
      ),
    );
  }
  const result = ts.transform(printable, [forTheReport]);
  try {
    const printed = result.transformed[0];
    if (printed !== node) markReleaseTags(printed, node);
    return printer
      .printNode(ts.EmitHint.Unspecified, printed, sourceFile)
      .replace(/^((?:\/\/[^\n]*\n)*)export (default )?/, '$1');
  } finally {
    result.dispose();
  }
}

/** The identifiers in a declaration that name another declaration (types, heritage, typeof). */
function referencedNames(node) {
  const names = [];
  const leftmost = name => {
    while (ts.isQualifiedName(name) || ts.isPropertyAccessExpression(name)) {
      name = ts.isQualifiedName(name) ? name.left : name.expression;
    }
    return ts.isIdentifier(name) ? name : undefined;
  };
  const visit = child => {
    let name;
    if (ts.isTypeReferenceNode(child)) name = leftmost(child.typeName);
    else if (ts.isExpressionWithTypeArguments(child)) {
      name = leftmost(child.expression);
    } else if (ts.isTypeQueryNode(child)) name = leftmost(child.exprName);
    else if (
      ts.isImportTypeNode(child) &&
      child.qualifier &&
      ts.isLiteralTypeNode(child.argument) &&
      ts.isStringLiteral(child.argument.literal) &&
      isRelative(child.argument.literal.text)
    ) {
      // A package's import("pkg").T is the package's: its list of packages names it.
      name = leftmost(child.qualifier);
    }
    if (name) names.push(name);
    ts.forEachChild(child, visit);
  };
  visit(node);
  return names;
}

/**
 * For `export {X} from 'pkg'` (or a name imported from a package and exported again):
 * {from, name}, the package and the name it has there; undefined when not from a package.
 */
function packageReexportOf(symbol) {
  for (const declaration of symbol.declarations ?? []) {
    const importedName = (
      declaration.propertyName ?? declaration.name
    )?.getText();
    let node = declaration;
    while (
      node &&
      !ts.isImportDeclaration(node) &&
      !ts.isExportDeclaration(node)
    ) {
      node = node.parent;
    }
    const specifier = node?.moduleSpecifier;
    if (
      specifier &&
      ts.isStringLiteral(specifier) &&
      !isRelative(specifier.text)
    ) {
      return {from: specifier.text, name: importedName ?? symbol.name};
    }
  }
  return undefined;
}

class DeclarationReader {
  constructor(program, libraryDir) {
    this.checker = program.getTypeChecker();
    this.libraryPrefix = libraryDir.endsWith('/')
      ? libraryDir
      : libraryDir + '/';
  }

  inLibrary(node) {
    return node.getSourceFile().fileName.startsWith(this.libraryPrefix);
  }

  resolveAlias(symbol) {
    return symbol.flags & ts.SymbolFlags.Alias
      ? this.checker.getAliasedSymbol(symbol)
      : symbol;
  }

  /** {kinds, text} for a resolved symbol; `alias` is the exported symbol (for package re-exports). */
  describe(target, alias) {
    const declarations = (target.declarations ?? []).filter(node =>
      this.inLibrary(node),
    );
    if (declarations.length === 0) {
      const origin = packageReexportOf(alias);
      const named =
        origin?.name === alias.name
          ? alias.name
          : `${origin?.name} as ${alias.name}`;
      return {
        kinds: ['re-export'],
        text: origin
          ? `export { ${named} } from '${origin.from}';`
          : `${alias.name}: declared outside the library (unresolved)`,
        declarations: [],
      };
    }
    const listed = declarations
      .map(node => ({node, kind: kindOf(node)}))
      // Stable: overloads keep their order; a type and a value of one name, type first.
      .sort((a, b) => kindRank(a.kind) - kindRank(b.kind));
    return {
      kinds: [...new Set(listed.map(({kind}) => kind))],
      text: listed.map(({node}) => printDeclaration(node)).join('\n'),
      declarations,
    };
  }

  /**
   * Library symbols the declarations name, resolved through aliases. A name nothing declares (not
   * the library, not an import, not the standard libraries) goes to `globals`.
   */
  reachedSymbols(declarations, globals) {
    const reached = new Set();
    for (const declaration of declarations) {
      for (const name of referencedNames(declaration)) {
        const symbol = this.checker.getSymbolAtLocation(name);
        if (!symbol?.declarations?.length) {
          // The checker answers a name nothing declares with a symbol without declarations.
          globals.add(name.text);
          continue;
        }
        const target = this.resolveAlias(symbol);
        if (target.flags & ts.SymbolFlags.TypeParameter) continue;
        const own = (target.declarations ?? []).filter(node =>
          this.inLibrary(node),
        );
        if (own.length > 0) reached.add(target);
      }
    }
    return reached;
  }

  /**
   * {exports: [{name, kinds, text}], reached: [{name, kinds, text}], globals: [name]} for one entry
   * point, each sorted by name (then text).
   */
  read(entryFile, program) {
    const sourceFile = program.getSourceFile(entryFile);
    if (!sourceFile) throw new ApiReportError(`the build has no ${entryFile}`);
    const moduleSymbol = this.checker.getSymbolAtLocation(sourceFile);
    if (!moduleSymbol) {
      throw new ApiReportError(
        `an entry point's .d.ts exports nothing (it is not a module): ${entryFile}`,
      );
    }
    const exported = new Set();
    const exports = this.checker
      .getExportsOfModule(moduleSymbol)
      .map(symbol => {
        const target = this.resolveAlias(symbol);
        exported.add(target);
        return {name: symbol.name, ...this.describe(target, symbol)};
      });
    const reached = [];
    const seen = new Set(exported);
    const globals = new Set();
    let frontier = this.reachedSymbols(
      exports.flatMap(e => e.declarations),
      globals,
    );
    while (frontier.size > 0) {
      const next = new Set();
      for (const target of frontier) {
        if (seen.has(target)) continue;
        seen.add(target);
        const described = {name: target.name, ...this.describe(target, target)};
        reached.push(described);
        for (const more of this.reachedSymbols(
          described.declarations,
          globals,
        )) {
          next.add(more);
        }
      }
      frontier = next;
    }
    const byNameThenText = (a, b) =>
      compareText(a.name, b.name) || compareText(a.text, b.text);
    const strip = ({name, kinds, text}) => ({name, kinds, text});
    return {
      exports: exports.sort(byNameThenText).map(strip),
      reached: reached.sort(byNameThenText).map(strip),
      globals: [...globals].sort(compareText),
    };
  }
}

module.exports = {DeclarationReader};
