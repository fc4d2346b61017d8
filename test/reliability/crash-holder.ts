/**
 * A lock holder to be SIGKILLed: acquires IDENTIFIER (default options: no stealAfterMs), prints
 * {token, fence, acquiredAt} and then never releases, as an instance that dies mid-work would not.
 */
import {Lock} from '../../shared';

async function main(): Promise<void> {
  const identifier = process.env.IDENTIFIER;
  if (!identifier) throw new Error('IDENTIFIER must be set');
  const held = await Lock.acquire(identifier, {wait: false});
  if (!held) throw new Error(`${identifier} was already held`);
  process.stdout.write(
    `${JSON.stringify({token: held.token, fence: String(held.fence), acquiredAt: held.acquiredAt.getTime()})}\n`,
  );
  setInterval(() => undefined, 60_000);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
