import {strict as assert} from 'node:assert';
import {keptSections} from '../reliability/report';

describe('reliability report: sections kept by hand', () => {
  it('carries over each "## Kept: " section to the next heading, and nothing else', () => {
    const previous = [
      '# Reliability',
      '## Details',
      '- a figure a run writes',
      '## Kept: the e2e sizes',
      '| a | table |',
      '',
      '## Covered deterministically by `npm test`',
      '- cited',
      '## Kept: bounds',
      'seen',
    ].join('\n');
    assert.deepEqual(keptSections(previous), [
      '## Kept: the e2e sizes',
      '| a | table |',
      '',
      '## Kept: bounds',
      'seen',
      '',
    ]);
  });

  it('a report with none, or no report yet, keeps nothing', () => {
    assert.deepEqual(keptSections('# Reliability\n## Details\n- x'), []);
    assert.deepEqual(keptSections(''), []);
  });
});
