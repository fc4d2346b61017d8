import {strict as assert} from 'node:assert';
import {randomUUID} from 'node:crypto';
import {mkdirSync, mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import {Datastore} from '@google-cloud/datastore';
import type {Browser, Page} from 'puppeteer-core';
import {LOCAL_PROJECT} from '../../infra/local/project';
import {WORK_TOPIC} from '../../infra/topology';
import {createDatastoreBackend} from '../../shared/stores/datastore/create-datastore-backend';
import {launchChromium} from '../support/chromium';
import {startLocalStack, type LocalStack} from '../support/stack-process';

const REPO = join(__dirname, '../../..');
/**
 * Where the run saves its screenshot: under .tmp/ (ignored by git), so a test run leaves the work
 * tree clean; `LOCKS_PAGE_SCREENSHOT=docs/locks-page.png` refreshes the copy README.md and
 * docs/operating.md show.
 */
const SCREENSHOT = join(
  REPO,
  process.env.LOCKS_PAGE_SCREENSHOT || join('.tmp', 'locks-page.png'),
);

/**
 * The live locks page of `npm start`, in a real headless browser (Debian's chromium through
 * puppeteer-core): rows come and go with HTTP acquires and releases, and a contended Pub/Sub
 * message shows up in the feed as a re-queue, all without a reload.
 */
describe('end to end: the live locks page in chromium', function () {
  this.timeout(180_000);
  const dir = mkdtempSync(join(tmpdir(), 'locks-page-'));
  let stack: LocalStack;
  let browser: Browser;
  let page: Page;

  before(async () => {
    stack = await startLocalStack(dir);
    browser = await launchChromium();
    page = await browser.newPage();
    await page.setViewport({width: 1280, height: 760});
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
    rmSync(dir, {recursive: true, force: true});
  });

  const post = (name: string, body: unknown) =>
    postJson(`${stack.baseUrl}/${name}`, body);
  // Browser-side expressions as source text: this project compiles without the DOM's types.
  const rowsNamed = (identifier: string) =>
    `[...document.querySelectorAll('#locks-body tr')].filter((row) => row.dataset.identifier === ${JSON.stringify(identifier)})`;
  const feedEntries = (type: string, outcome: string, identifier: string) =>
    `[...document.querySelectorAll('#feed-list li')].filter((item) => item.dataset.type === ${JSON.stringify(type)} && item.dataset.outcome === ${JSON.stringify(outcome)} && item.dataset.identifier === ${JSON.stringify(identifier)})`;
  const rowShown = async (identifier: string) =>
    (await page.evaluate(`${rowsNamed(identifier)}.length`)) === 1;
  const waitForRow = (identifier: string, shown: boolean) =>
    page.waitForFunction(
      `${rowsNamed(identifier)}.length === ${shown ? 1 : 0}`,
      {timeout: 20_000},
    );
  const waitForFeed = (
    type: string,
    outcome: string,
    identifier: string,
    count = 1,
  ) =>
    page.waitForFunction(
      `${feedEntries(type, outcome, identifier)}.length >= ${count}`,
      {timeout: 30_000},
    );

  it('the ready line prints the page URL; the page loads and its feed connects', async () => {
    assert.match(stack.readyLine, new RegExp(`locks page ${stack.baseUrl}/ `));
    const response = await page.goto(`${stack.baseUrl}/`);
    assert.equal(response?.status(), 200);
    assert.equal(await page.title(), 'Locks · cloud-functions-locking');
    await page.waitForSelector('#live[data-state="live"]', {timeout: 20_000});
    // The stack's WEAK locks are on memcached here: one line says so, never an error.
    await page.waitForSelector('#weak-note:not([hidden])', {timeout: 20_000});
    assert.match(
      (await page.evaluate(
        "document.getElementById('weak-note').textContent",
      )) as string,
      /^WEAK locks are not listed: memcached cannot list its keys/,
    );
    assert.equal(
      await page.evaluate("document.getElementById('problem').hidden"),
      true,
    );
  });

  it('an acquire over HTTP makes its row appear, with holder and fence; the release makes it go; both are in the feed', async () => {
    const identifier = `invoice/${randomUUID().slice(0, 8)}`;
    const acquired = await post('acquireLock', {
      identifier,
      wait: false,
      leaseMs: 60_000,
    });
    assert.ok(acquired.token);
    await waitForRow(identifier, true);
    const cells = (await page.evaluate(
      `[...${rowsNamed(identifier)}[0].querySelectorAll('td')].map((cell) => cell.textContent)`,
    )) as string[];
    assert.equal(cells[0], identifier);
    assert.equal(cells[1], acquired.holderId);
    assert.match(cells[3] ?? '', /s left/);
    assert.equal(cells[4], acquired.fence);
    await waitForFeed('acquire', 'acquired', identifier);

    assert.deepEqual(
      await post('releaseLock', {identifier, token: acquired.token}),
      {released: true},
    );
    await waitForRow(identifier, false);
    await waitForFeed('release', 'released', identifier);
    assert.equal(await rowShown(identifier), false);
    const html = await page.content();
    assert.ok(!html.includes(acquired.token as string), 'no token on the page');
  });

  const publishEvent = async (account: string, eventId: string) => {
    const published = await fetch(
      `http://127.0.0.1:${stack.ports.pubsub}/v1/projects/${LOCAL_PROJECT}/topics/${WORK_TOPIC}:publish`,
      {
        method: 'POST',
        headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({
          messages: [
            {
              data: Buffer.from(
                JSON.stringify({account, amount: 5, eventId}),
              ).toString('base64'),
            },
          ],
        }),
      },
    );
    assert.equal(published.status, 200);
  };
  /** Both parked messages ran: the room is empty and the lock gone (read from the stack's store). */
  const roomEmptied = async (identifier: string) => {
    const datastore = new Datastore({
      projectId: LOCAL_PROJECT,
      apiEndpoint: `127.0.0.1:${stack.ports.datastore}`,
    });
    const backend = await createDatastoreBackend(datastore);
    try {
      const room = backend.waitingRoom;
      assert.ok(room, 'the store keeps a waiting room');
      const until = Date.now() + 30_000;
      for (;;) {
        const left = await room.parked(identifier, 10);
        if (left.length === 0 && !(await backend.peek(identifier))) return;
        assert.ok(
          Date.now() < until,
          `still parked: ${left.map(record => record.messageId).join(', ')}`,
        );
        await new Promise(resolve => setTimeout(resolve, 250));
      }
    } finally {
      await datastore.close?.();
    }
  };
  const saveScreenshot = async () => {
    mkdirSync(dirname(SCREENSHOT), {recursive: true});
    await page.screenshot({path: SCREENSHOT as `${string}.png`});
  };

  it('a Pub/Sub message whose lock is held waits (parked: its row shows the queue; or, without the waiting room, re-queued), and the feed shows it; a screenshot is saved', async () => {
    const account = `acct-${randomUUID().slice(0, 8)}`;
    const identifier = `account:${account}`;
    // A few locks in different states, so the screenshot shows what the page is for.
    const scenery = [
      await post('acquireLock', {
        identifier: 'orders/1042',
        wait: false,
        leaseMs: 45_000,
      }),
      await post('acquireLock', {
        identifier: 'reports/daily-rollup',
        wait: false,
      }),
    ];
    const holder = await post('acquireLock', {
      identifier,
      wait: false,
      leaseMs: 60_000,
    });
    assert.ok(holder.token);
    await waitForRow(identifier, true);

    await publishEvent(account, `${account}-e1`);
    await waitForFeed('acquire', 'held', identifier);
    // With the waiting room (the example worker's default) the message parks under the lock and
    // the lock's row counts it; without it, the message is re-queued.
    const rowQueued = `${rowsNamed(identifier)}[0]?.dataset.depth === '1'`;
    await page.waitForFunction(
      `${rowQueued} || ${feedEntries('requeue', 'requeued', identifier)}.length >= 1`,
      {timeout: 30_000},
    );
    const parked = (await page.evaluate(rowQueued)) === true;

    if (parked) {
      const cells = (await page.evaluate(
        `[...${rowsNamed(identifier)}[0].querySelectorAll('td')].map((cell) => cell.textContent)`,
      )) as string[];
      assert.equal(cells[5], '1', 'queue depth');
      assert.notEqual(cells[6], '-', 'the oldest wait');
      await saveScreenshot();
      // Released over HTTP (outside lockedHandler), the lock is left vacant with its room: the
      // next arrival on the key hands it to the parked message and parks behind it.
      await post('releaseLock', {identifier, token: holder.token});
      await publishEvent(account, `${account}-e2`);
      await roomEmptied(identifier);
    } else {
      // Released, the re-queued message runs: the worker's own grant and release follow in the feed.
      await post('releaseLock', {identifier, token: holder.token});
      await waitForFeed('acquire', 'acquired', identifier, 2);
      await waitForFeed('release', 'released', identifier, 2);
      await saveScreenshot();
    }
    await waitForRow(identifier, false);
    for (const lock of scenery)
      if (lock.token)
        await post('releaseLock', {
          identifier: lock.identifier,
          token: lock.token,
        });
  });
});

/**
 * The page of `npm start --weak-store valkey`: WEAK locks taken over HTTP appear beside STRONG ones,
 * marked WEAK, and go when released, each within the page's refresh bound (an event from the
 * stack refreshes at once; the poll, every POLL_MS, bounds it).
 */
describe('end to end: the live locks page in chromium, WEAK locks on Valkey', function () {
  this.timeout(180_000);
  const POLL_MS = 2000;
  const dir = mkdtempSync(join(tmpdir(), 'locks-page-valkey-'));
  let stack: LocalStack;
  let browser: Browser;
  let page: Page;

  before(async () => {
    stack = await startLocalStack(dir, 90_000, {
      args: ['--weak-store', 'valkey'],
    });
    browser = await launchChromium();
    page = await browser.newPage();
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
    rmSync(dir, {recursive: true, force: true});
  });

  const post = (name: string, body: unknown) =>
    postJson(`${stack.baseUrl}/${name}`, body);
  const rowsNamed = (identifier: string, kind: string) =>
    `[...document.querySelectorAll('#locks-body tr')].filter((row) => row.dataset.identifier === ${JSON.stringify(identifier)} && row.dataset.kind === ${JSON.stringify(kind)})`;
  /** How long after now the row count of `identifier` reaches `count`. */
  const msUntilRows = async (
    identifier: string,
    kind: string,
    count: number,
  ) => {
    const from = Date.now();
    await page.waitForFunction(
      `${rowsNamed(identifier, kind)}.length === ${count}`,
      {timeout: 20_000, polling: 50},
    );
    return Date.now() - from;
  };

  it('a WEAK lock acquired over HTTP appears marked WEAK beside the STRONG one, with no fence, no queue and no token, and goes when released', async () => {
    assert.match(stack.readyLine, /LOCKS_VALKEY_URL=redis:\/\//);
    assert.equal((await page.goto(`${stack.baseUrl}/`))?.status(), 200);
    await page.waitForSelector('#live[data-state="live"]', {timeout: 20_000});
    const identifier = `export/${randomUUID().slice(0, 8)}`;
    const strong = await post('acquireLock', {identifier, wait: false});
    assert.ok(strong.token);
    await msUntilRows(identifier, 'STRONG', 1);

    const weak = await post('acquireLock', {
      identifier,
      wait: false,
      kind: 'WEAK',
      leaseMs: 60_000,
    });
    assert.ok(weak.token);
    const shownMs = await msUntilRows(identifier, 'WEAK', 1);
    const cells = (await page.evaluate(
      `[...${rowsNamed(identifier, 'WEAK')}[0].querySelectorAll('td')].map((cell) => cell.textContent)`,
    )) as string[];
    assert.equal(cells[0], `WEAK${identifier}`, 'marked WEAK before its name');
    assert.equal(cells[1], weak.holderId);
    assert.match(cells[3] ?? '', /s left/);
    assert.deepEqual(cells.slice(4), ['-', '-', '-'], 'no fence, no queue');
    assert.equal(
      await page.evaluate(
        `${rowsNamed(identifier, 'STRONG')}[0].querySelector('.kind')`,
      ),
      null,
      'STRONG, the default, unmarked',
    );
    assert.equal(
      await page.evaluate("document.getElementById('weak-note').hidden"),
      true,
      'no note: WEAK locks are listed',
    );
    assert.ok(
      !(await page.content()).includes(weak.token as string),
      'no token on the page',
    );

    assert.deepEqual(
      await post('releaseLock', {identifier, token: weak.token, kind: 'WEAK'}),
      {released: true},
    );
    const goneMs = await msUntilRows(identifier, 'WEAK', 0);
    console.log(
      `      page: a WEAK lock shown ${shownMs} ms after its acquire, gone ${goneMs} ms after its release`,
    );
    for (const ms of [shownMs, goneMs])
      assert.ok(ms < POLL_MS + 1500, `within the refresh bound: ${ms} ms`);
    assert.equal(
      await page.evaluate(`${rowsNamed(identifier, 'STRONG')}.length`),
      1,
      'the STRONG lock stays',
    );
    await post('releaseLock', {identifier, token: strong.token});
    await msUntilRows(identifier, 'STRONG', 0);
  });
});

/** POSTs `body` as JSON to one of the stack's functions and returns its JSON answer. */
async function postJson(
  url: string,
  body: unknown,
): Promise<Record<string, string>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  return (await response.json()) as Record<string, string>;
}
