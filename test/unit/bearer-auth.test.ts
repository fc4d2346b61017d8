import {strict as assert} from 'node:assert';
import {apiTokenPresented, bearerTokenMatches} from '../../functions/http/auth';

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
    it(`${accepted ? 'accepts' : 'refuses'} ${JSON.stringify(header)}`, () =>
      assert.equal(bearerTokenMatches(header, expected), accepted));
  }
});

describe('API token check: X-Locks-Api-Token or Authorization: Bearer', () => {
  const expected = 's3cret';
  const oidc = 'Bearer eyJhbGciOiJSUzI1NiJ9.an-oidc-identity-token';
  const cases: [Record<string, string>, boolean][] = [
    [{'x-locks-api-token': expected}, true],
    [{'x-locks-api-token': expected, authorization: oidc}, true],
    [{authorization: `Bearer ${expected}`}, true],
    [{authorization: oidc}, false],
    [{'x-locks-api-token': 'wrong', authorization: oidc}, false],
    [{'x-locks-api-token': `Bearer ${expected}`}, false],
    [{'x-locks-api-token': ''}, false],
    [{}, false],
  ];
  for (const [headers, accepted] of cases) {
    it(`${accepted ? 'accepts' : 'refuses'} ${JSON.stringify(headers)}`, () => {
      const get = (name: string) => headers[name.toLowerCase()];
      assert.equal(apiTokenPresented({get}, expected), accepted);
    });
  }
});
