/**
 * Generated bad input for the HTTP functions. Each request says whether it is invalid by
 * construction (must get a 4xx) or merely odd but acceptable (must get anything but a 5xx).
 */
export interface BadRequest {
  readonly category: string;
  readonly path: string;
  readonly method: string;
  readonly contentType: string | undefined;
  readonly body: Buffer;
  readonly mustBe4xx: boolean;
}

const FUNCTIONS = [
  '/acquireLock',
  '/releaseLock',
  '/renewLock',
  '/cleanupLocks',
] as const;
type FunctionPath = (typeof FUNCTIONS)[number];

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'application/json; charset=bogus',
  'text/plain',
  'text/html',
  'application/xml',
  'application/octet-stream',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/cloudevents+json',
  'application/merge-patch+json',
  'image/png',
  '*/*',
  'application/',
  ';;;',
  null,
];

/** Deterministic pseudo-random numbers, so a failing request can be generated again. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const SAMPLE_BODIES: Record<FunctionPath, Record<string, unknown>> = {
  '/acquireLock': {identifier: 'bad-input', wait: false},
  '/releaseLock': {
    identifier: 'bad-input',
    token: '00000000-0000-0000-0000-000000000000',
  },
  '/renewLock': {
    identifier: 'bad-input',
    token: '00000000-0000-0000-0000-000000000000',
    leaseMs: 1000,
  },
  '/cleanupLocks': {maxAgeMs: 600000},
};

function wrongTypeBodies(path: FunctionPath): unknown[] {
  const field = path === '/cleanupLocks' ? 'maxAgeMs' : 'identifier';
  const values = [
    null,
    true,
    0,
    -1,
    1.5,
    [],
    [1],
    {},
    {nested: 'x'},
    '',
    'x'.repeat(2000),
    1e308,
  ];
  const bodies: unknown[] = values.map(value => ({
    ...SAMPLE_BODIES[path],
    [field]: value,
  }));
  if (path === '/acquireLock') {
    for (const value of ['yes', 1, null, {}, []])
      bodies.push({identifier: 'bad-input', wait: value});
    for (const value of ['STRONGER', 'weak', 1, null, []])
      bodies.push({identifier: 'bad-input', wait: false, kind: value});
  }
  if (path === '/releaseLock' || path === '/renewLock')
    for (const value of [1, null, [], {}, '', 'x'.repeat(5000)])
      bodies.push({identifier: 'bad-input', token: value});
  return bodies;
}

/** Times a caller must not be allowed to use: negative, not finite (written as JSON can), absurdly large, not numbers. */
const BAD_TIMES = [
  '-1',
  '-0.5',
  '1e309',
  '-1e309',
  '1e300',
  '9007199254740993',
  '"NaN"',
  '"Infinity"',
  '"100"',
  'null',
  'true',
  '[100]',
  '{"ms":100}',
  '1.5e-400',
];

/**
 * Odd times the API accepts by design: null is documented as absent, 1.5e-400 parses to 0, and a
 * huge finite number is a valid (if pointless) duration. Only "never a 5xx" holds for them.
 */
const ACCEPTED_TIMES = new Set([
  'null',
  '1.5e-400',
  '1e300',
  '9007199254740993',
]);

function timeBodies(path: FunctionPath): {text: string; mustBe4xx: boolean}[] {
  const fields =
    path === '/acquireLock'
      ? ['stealAfterMs', 'waitForMs', 'leaseMs']
      : path === '/renewLock'
        ? ['leaseMs']
        : path === '/cleanupLocks'
          ? ['maxAgeMs']
          : [];
  const prefix =
    path === '/acquireLock'
      ? '"identifier":"bad-input-times","wait":false,'
      : path === '/renewLock'
        ? '"identifier":"bad-input-times","token":"t",'
        : '';
  return fields.flatMap(field =>
    BAD_TIMES.map(time => ({
      text: `{${prefix}"${field}":${time}}`,
      mustBe4xx: !ACCEPTED_TIMES.has(time),
    })),
  );
}

/** Identifiers with control characters, lone surrogates (escaped and raw), and invalid UTF-8 bytes. */
function identifierBodies(
  next: () => number,
  path: FunctionPath,
): {body: Buffer; mustBe4xx: boolean}[] {
  // The function's other fields, so the identifier is what is judged (cleanupLocks takes none: 4xx there).
  const rest = path === '/acquireLock' ? '"wait":false' : '"token":"t"';
  const refused = path === '/cleanupLocks';
  const controls = Array.from(
    {length: 32},
    (_, code) => `\\u${code.toString(16).padStart(4, '0')}`,
  );
  const cases: {body: Buffer; mustBe4xx: boolean}[] = [];
  for (const control of controls) {
    // Control characters make a well-formed string: the library accepts any; the answer just must not be a 5xx.
    cases.push({
      body: Buffer.from(
        `{"identifier":"bad-input${control}${Math.floor(next() * 1e9)}",${rest}}`,
      ),
      mustBe4xx: refused,
    });
  }
  for (const surrogate of [
    '\\ud800',
    '\\udfff',
    '\\udc00x',
    'x\\ud83d',
    '\\ud83d\\ud83d',
  ]) {
    cases.push({
      body: Buffer.from(`{"identifier":"bad${surrogate}",${rest}}`),
      mustBe4xx: true,
    });
  }
  for (const bytes of [
    [0xff],
    [0xc3],
    [0xed, 0xa0, 0x80],
    [0xf8, 0x88, 0x80, 0x80, 0x80],
    [0xc0, 0xaf],
  ]) {
    // Invalid UTF-8 decodes to U+FFFD, a valid character: again only "never a 5xx".
    cases.push({
      body: Buffer.concat([
        Buffer.from('{"identifier":"bad'),
        Buffer.from(bytes),
        Buffer.from(`",${rest}}`),
      ]),
      mustBe4xx: refused,
    });
  }
  return cases;
}

function deeplyNested(
  depth: number,
  open: string,
  close: string,
  inner: string,
): string {
  return `{"identifier":${open.repeat(depth)}${inner}${close.repeat(depth)}}`;
}

export function generateBadRequests(minimum: number, seed = 7): BadRequest[] {
  const next = random(seed);
  const pick = <T>(items: readonly T[]): T =>
    items[Math.floor(next() * items.length)] as T;
  const requests: BadRequest[] = [];
  const add = (
    category: string,
    path: string,
    body: Buffer | string,
    mustBe4xx: boolean,
    /** `null`: no Content-Type header at all (an `undefined` would take the default). */
    contentType: string | null = 'application/json',
    method = 'POST',
  ) =>
    requests.push({
      category,
      path,
      method,
      contentType: contentType ?? undefined,
      body: typeof body === 'string' ? Buffer.from(body) : body,
      mustBe4xx,
    });

  for (const path of FUNCTIONS) {
    for (const body of wrongTypeBodies(path)) {
      const value = (body as Record<string, unknown>)[
        path === '/cleanupLocks' ? 'maxAgeMs' : 'identifier'
      ];
      const {wait: waitValue, kind: kindValue} = body as Record<
        string,
        unknown
      >;
      // null is documented as absent, and 0, 1.5 and 1e308 are durations a cleanup may be given: only "never a 5xx" for those.
      const accepted =
        waitValue === null ||
        kindValue === null ||
        (path === '/cleanupLocks' &&
          (value === null || (typeof value === 'number' && value >= 0)));
      add('wrong types', path, JSON.stringify(body), !accepted);
    }
    for (const {text, mustBe4xx} of timeBodies(path))
      add('negative/NaN/huge times', path, text, mustBe4xx);
    for (const {body, mustBe4xx} of identifierBodies(next, path))
      add(
        'control characters, lone surrogates, invalid UTF-8',
        path,
        body,
        mustBe4xx,
      );
    for (const depth of [100, 1000, 10_000, 100_000]) {
      add('deeply nested', path, deeplyNested(depth, '[', ']', '1'), true);
      add('deeply nested', path, deeplyNested(depth, '{"a":', '}', '1'), true);
    }
    for (const megabytes of [1.01, 2, 8]) {
      const size = Math.floor(megabytes * 1024 * 1024);
      add(
        'bodies over 1 MB',
        path,
        `{"identifier":"${'x'.repeat(size)}"}`,
        true,
      );
      add('bodies over 1 MB', path, `[${'1,'.repeat(size / 2)}1]`, true);
    }
    // A misspelt or extra field is refused, never ignored (ignoring `wiat` would make the caller wait).
    for (const field of [
      'wiat',
      'Identifier',
      'lease_ms',
      'padding',
      '',
      '__proto__',
    ])
      add(
        'unknown fields',
        path,
        `{${JSON.stringify(SAMPLE_BODIES[path]).slice(1, -1)},${JSON.stringify(field)}:false}`,
        true,
      );
    add(
      'huge body within the limit',
      path,
      // The bulk is whitespace, which JSON allows between tokens: a padding field would be refused.
      `${JSON.stringify(SAMPLE_BODIES[path]).slice(0, -1)}${' '.repeat(60_000)}}`,
      false,
    );
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH'])
      add('wrong method', path, '{}', true, 'application/json', method);
    // Refused before the body is read, with a body still arriving: the answer must reach the client whole.
    const unread = `{"padding":"${'z'.repeat(2 * 1024 * 1024)}"}`;
    add('early refusals of 2 MB bodies', path, unread, true, null, 'DELETE');
    add('early refusals of 2 MB bodies', path, unread, true, null);
    add(
      'early refusals of 2 MB bodies',
      path,
      unread,
      true,
      'application/json; charset=latin1',
    );
  }
  // The rest: truncated and corrupted JSON, and valid or invalid bodies under every content type.
  while (requests.length < minimum) {
    const path = pick(FUNCTIONS);
    const sample = JSON.stringify(SAMPLE_BODIES[path]);
    const roll = next();
    if (roll < 0.35) {
      const cut = 1 + Math.floor(next() * (sample.length - 1));
      add(
        'truncated JSON',
        path,
        sample.slice(0, cut),
        true,
        pick(['application/json', 'text/plain', null]),
      );
    } else if (roll < 0.6) {
      const bytes = Buffer.from(sample);
      const at = Math.floor(next() * bytes.length);
      bytes[at] = pick([0x00, 0x7b, 0x7d, 0x22, 0x5c, 0xff, 0x0a, 0x2c]);
      // A corrupted byte may still leave valid JSON (a changed letter inside a string): only "never a 5xx" then.
      add(
        'malformed JSON',
        path,
        bytes,
        !isJsonObject(bytes),
        'application/json',
      );
    } else if (roll < 0.7) {
      add(
        'malformed JSON',
        path,
        pick([
          '{',
          '}',
          '[]',
          'null',
          '"text"',
          '1',
          'nul',
          '{"a":}',
          '{a:1}',
          "{'a':1}",
          '\u0000',
          '{"identifier":"x",}',
        ]),
        true,
        'application/json',
      );
    } else {
      const contentType = pick(CONTENT_TYPES);
      // Anything but application/json is refused (415): text/plain, a form and no type at all are
      // what a page on another site can make a browser send without a preflight.
      add(
        'content types',
        path,
        pick([sample, 'identifier=x&token=y', '<xml/>', '\u0000\u0001']),
        !/^application\/json(;|$)/.test(contentType ?? ''),
        contentType,
      );
    }
  }
  return requests;
}

function isJsonObject(bytes: Buffer): boolean {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}
