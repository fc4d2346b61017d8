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
];

module.exports = [...customConfig, ...require('gts'), ...projectConfig];
