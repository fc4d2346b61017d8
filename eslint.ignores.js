module.exports = ['dist/', '**/node_modules/', '.tmp/'];
