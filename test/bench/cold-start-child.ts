/**
 * A fresh process measuring its own cold start: from process start to the first completed
 * acquire through the functions entry (MODE=functions), or to the first raw insert with
 * @google-cloud/datastore (MODE=raw). Prints {ms, maxRssKb}.
 */
import {randomUUID} from 'node:crypto';
import {join} from 'node:path';

async function main(): Promise<void> {
  if (process.env.MODE === 'functions') {
    // The deployed entry: it registers the functions (and loads the Functions Framework).
    require(join(__dirname, '../../functions/index.js'));
    const {Lock} = require(
      join(__dirname, '../../shared/index.js'),
    ) as typeof import('../../shared');
    const held = await Lock.acquire(`cold-${randomUUID()}`, {wait: false});
    if (!held) throw new Error('not acquired');
  } else {
    const {Datastore} =
      require('@google-cloud/datastore') as typeof import('@google-cloud/datastore');
    const datastore = new Datastore();
    await datastore.insert({
      key: datastore.key(['BenchCold', randomUUID()]),
      data: {token: randomUUID()},
    });
  }
  const ms = performance.now();
  process.stdout.write(
    `${JSON.stringify({ms, maxRssKb: process.resourceUsage().maxRSS})}\n`,
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
