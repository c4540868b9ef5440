import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { OutputPool } from '../../src/compute/output-pool.js';

test('output pool: a freed array comes back for its length only; room is made from the lengths freed longest ago', () => {
  const pool = new OutputPool(64); // bytes: 16 floats
  const a1 = new Float32Array(4), a2 = new Float32Array(4), b1 = new Float32Array(8), b2 = new Float32Array(8), c = new Float32Array(8);
  pool.give(a1);
  pool.give(b1);
  pool.give(a2); // length 4 freed last: length 8 is now the older one
  assert.equal(pool.heldBytes, 64);
  assert.equal(pool.take(5), undefined);
  pool.give(new Float32Array(12)); // 48 bytes: b1 (the older length), then a2 make room; a1 stays
  assert.equal(pool.heldBytes, 64);
  assert.equal(pool.take(8), undefined);
  assert.equal(pool.take(4), a1);
  assert.equal(pool.take(4), undefined);
  assert.equal(pool.take(12)?.length, 12);
  assert.equal(pool.heldBytes, 0);
  pool.give(a1);
  pool.give(b2);
  pool.give(c); // length 8 again: its own older array stays, length 4 (freed before) goes
  assert.equal(pool.take(8), c);
  assert.equal(pool.take(8), b2);
  assert.equal(pool.take(4), undefined);
  assert.equal(pool.heldBytes, 0);
  pool.give(new Float32Array(17)); // larger than the whole pool: not kept
  assert.equal(pool.heldBytes, 0);
});

test('output pool: under any sequence the bytes held stay within the limit, match what take can return, and the array just freed is kept', () => {
  const op = fc.oneof(fc.record({ give: fc.integer({ min: 1, max: 40 }) }), fc.record({ take: fc.integer({ min: 1, max: 40 }) }));
  fc.assert(fc.property(fc.integer({ min: 4, max: 200 }), fc.array(op, { maxLength: 80 }), (limitFloats, ops) => {
    const pool = new OutputPool(limitFloats * 4);
    const given = new Set<Float32Array>();
    for (const o of ops) {
      if ('give' in o) {
        const values = new Float32Array(o.give);
        given.add(values);
        pool.give(values);
        if (o.give <= limitFloats) {
          const back = pool.take(o.give);
          assert.equal(back, values, 'the array just freed is the first handed out again');
          pool.give(values);
        }
      } else {
        const values = pool.take(o.take);
        if (values !== undefined) {
          assert.equal(values.length, o.take);
          assert.ok(given.delete(values), 'only arrays given, each at most once');
        }
      }
      assert.ok(pool.heldBytes >= 0 && pool.heldBytes <= limitFloats * 4, `held ${pool.heldBytes}`);
    }
    // Draining the pool returns exactly the bytes it says it holds.
    const held = pool.heldBytes;
    let drained = 0;
    for (let length = 1; length <= 40; length++) for (let v = pool.take(length); v !== undefined; v = pool.take(length)) drained += v.byteLength;
    assert.equal(drained, held);
    assert.equal(pool.heldBytes, 0);
  }), { numRuns: 300, seed: 3 });
});
