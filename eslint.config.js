let customConfig = [];
let hasIgnoresFile = false;
try {
  require.resolve('./eslint.ignores.js');
  hasIgnoresFile = true;
} catch {
  // eslint.ignores.js doesn't exist
}

if (hasIgnoresFile) {
  const ignores = require('./eslint.ignores.js');
  customConfig = [{ignores}];
}

// The project's own settings, after gts's. Destructuring away a property (`const {a: _a, ...rest}`)
// and a parameter named `_` are how this code says "not used on purpose", as tsc's noUnused* checks accept.
/** The store folders under shared/stores/ (stores/common is what they share). */
const STORES = ['datastore', 'firestore', 'memcached', 'valkey'];

const projectConfig = [
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        {ignoreRestSiblings: true, argsIgnorePattern: '^_'},
      ],
    },
  },
  {
    // The functions and the tools use the library as its users do (its entries, shared/package.json's
    // exports: shared, shared/pubsub, shared/stores/{datastore,firestore,memcached,valkey}), plus the one
    // documented internal entry (shared/internal): the library's inside can then move freely.
    files: ['functions/**/*.ts', 'infra/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              // gitignore-style: a path below an excluded folder cannot be let back in, so each
              // folder on the way to an entry is let in and its other children shut again.
              group: [
                '**/shared/*',
                '!**/shared/internal',
                '!**/shared/pubsub',
                '!**/shared/stores',
                '**/shared/pubsub/*',
                '**/shared/stores/*',
                '!**/shared/stores/datastore',
                '!**/shared/stores/firestore',
                '!**/shared/stores/memcached',
                '!**/shared/stores/valkey',
                '**/shared/stores/*/*',
              ],
              message:
                'import the library from shared (its public API) or shared/internal (what functions/ and infra/ share), not from its inside',
            },
          ],
        },
      ],
    },
  },
  // The stores stand side by side: each imports the core and stores/common, never another store,
  // so a store can be added or left out (a consumer installs only its store's client).
  ...STORES.map(store => ({
    files: [`shared/stores/${store}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: STORES.filter(other => other !== store).flatMap(other => [
                `../${other}`,
                `../${other}/*`,
                `**/stores/${other}`,
                `**/stores/${other}/*`,
              ]),
              message:
                'a store imports the core and stores/common, never another store',
            },
          ],
        },
      ],
    },
  })),
];

module.exports = [...customConfig, ...require('gts'), ...projectConfig];
