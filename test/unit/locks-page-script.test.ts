import {strict as assert} from 'node:assert';
import {LOCKS_PAGE_SCRIPT} from '../../functions/locks-page/page-html';

/** The page's script is served as written, with no build step: a syntax error would only show in a browser. */
describe('the locks page script', () => {
  it('parses as JavaScript', () => {
    assert.doesNotThrow(() => new Function(LOCKS_PAGE_SCRIPT));
  });

  it('a syntax error would be caught', () => {
    assert.throws(() => new Function(`${LOCKS_PAGE_SCRIPT})`), SyntaxError);
  });
});
