import { describe, expect, it } from 'vitest';
import { keyOf, splitKey } from './keys.ts';

describe('object keys', () => {
  const roundTrips = [
    {
      name: 'keys a namespaced object as namespace/name',
      obj: { metadata: { namespace: 'ns', name: 'a' } },
      key: 'ns/a',
    },
    { name: 'keys a cluster-scoped object by its name alone', obj: { metadata: { name: 'a' } }, key: 'a' },
  ];
  for (const c of roundTrips) {
    it(c.name, () => {
      expect(keyOf(c.obj)).toBe(c.key);
      expect(splitKey(c.key)).toEqual({ namespace: c.obj.metadata.namespace ?? '', name: 'a' });
    });
  }

  const bad = ['', '/a', 'ns/', 'a/b/c'];
  for (const key of bad) {
    it(`rejects the key ${JSON.stringify(key)} with a message naming it`, () => {
      expect(() => splitKey(key)).toThrow(JSON.stringify(key));
    });
  }

  it('refuses to key an object without a name', () => {
    expect(() => keyOf({ metadata: { namespace: 'ns' } })).toThrow(/metadata.name/);
  });
});
