import {strict as assert} from 'node:assert';
import type {Client as MemjsClient} from 'memjs';
import {
  addCounts,
  countingMemcache,
  countRequests,
  describeCounts,
} from '../bench/weak-clients';

/** A binary-protocol request header: the opcode in byte 1, the CAS in bytes 16-23. */
function request(opcode: number, cas = 0n): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt8(0x80, 0);
  header.writeUInt8(opcode, 1);
  header.writeBigUInt64BE(cas, 16);
  return header;
}

describe("the bench's request counts", () => {
  it('counts, adds up and describes requests in order of first appearance', () => {
    const counts = countRequests(['EVALSHA', 'GET', 'EVALSHA']);
    assert.deepEqual(counts, {EVALSHA: 2, GET: 1});
    assert.equal(describeCounts(counts), '2 EVALSHA, 1 GET');
    assert.deepEqual(addCounts([counts, {GET: 2, SUBSCRIBE: 1}]), {
      EVALSHA: 2,
      GET: 3,
      SUBSCRIBE: 1,
    });
    assert.equal(describeCounts({add: 3, get: 1}, 2), '1.5 add, 0.5 get');
  });

  it("names memjs's requests by opcode and CAS, passes them on, and stops on restore", () => {
    const passed: number[] = [];
    const client = {
      perform: (_key: string, buffer: Buffer) =>
        passed.push(buffer.readUInt8(1)),
    };
    const log = countingMemcache(client as unknown as MemjsClient);
    const perform = (client as {perform: (k: string, b: Buffer) => unknown})
      .perform;
    perform.call(client, 'k', request(0x02));
    perform.call(client, 'k', request(0x00));
    perform.call(client, 'k', request(0x01, 7n));
    perform.call(client, 'k', request(0x04, 9n));
    perform.call(client, 'k', request(0x0a));
    assert.deepEqual(log.take(), [
      'add',
      'get',
      'CAS set',
      'CAS delete',
      'op 0xa',
    ]);
    assert.deepEqual(log.take(), []);
    assert.deepEqual(passed, [0x02, 0x00, 0x01, 0x04, 0x0a]);
    log.restore();
    client.perform('k', request(0x00));
    assert.deepEqual(log.take(), []);
  });
});
