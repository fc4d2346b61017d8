import { strict as assert } from 'node:assert';
import { bearerTokenMatches } from '../../functions/http/auth';

describe('bearer token check', () => {
  const expected = 's3cret';
  const cases: [string | undefined, boolean][] = [
    [`Bearer ${expected}`, true],
    [undefined, false],
    ['', false],
    ['Bearer ', false],
    [`Bearer ${expected}x`, false],
    [`Bearer ${expected.slice(0, -1)}`, false],
    [`bearer ${expected}`, false],
    [`Basic ${expected}`, false],
    [expected, false],
  ];
  for (const [header, accepted] of cases) {
    it(`${accepted ? 'accepts' : 'refuses'} ${JSON.stringify(header)}`, () => assert.equal(bearerTokenMatches(header, expected), accepted));
  }
});
