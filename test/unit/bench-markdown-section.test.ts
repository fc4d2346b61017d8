import {strict as assert} from 'node:assert';
import {spliceSection} from '../bench/markdown-section';

describe("the bench's section splice (npm run bench -- --only weak)", () => {
  const file = ['# B', '', '## One', 'old', '', '## Two', 'kept', ''].join(
    '\n',
  );

  it('replaces the section with its heading, up to the next one, and keeps the rest', () => {
    assert.equal(
      spliceSection(file, ['## One', 'new', '']),
      ['# B', '', '## One', 'new', '', '## Two', 'kept', ''].join('\n'),
    );
  });

  it('replaces the last section up to the end, and appends one not there', () => {
    assert.equal(
      spliceSection(file, ['## Two', 'newer']),
      ['# B', '', '## One', 'old', '', '## Two', 'newer'].join('\n'),
    );
    assert.equal(
      spliceSection(file, ['## Three', 'x']),
      `${file}\n## Three\nx`,
    );
  });

  it('refuses a section without its heading', () => {
    assert.throws(() => spliceSection(file, ['', '## One']), /heading/);
  });
});
