import {strict as assert} from 'node:assert';
import {execFileSync} from 'node:child_process';
import {join} from 'node:path';

describe('cold start', () => {
  it('loading the library loads no Google Cloud client', () => {
    const entry = join(__dirname, '../../shared/index.js');
    const loaded = execFileSync(process.execPath, [
      '-e',
      `require(${JSON.stringify(entry)}); console.log(JSON.stringify(Object.keys(require.cache).filter((path) => path.includes('node_modules'))))`,
    ]).toString();
    assert.deepEqual(
      JSON.parse(loaded),
      [],
      'no package is loaded until the first lock call',
    );
  });
});
