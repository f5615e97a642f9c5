import { describe, expect, it } from 'vitest';
import { checkJsonLimits } from './json-limits.ts';

const limits = { maxDepth: 3, maxElements: 5 };

describe('JSON shape limits', () => {
  it.each([
    { name: 'accepts nesting up to the depth limit', text: '[[[1]]]', error: undefined },
    { name: 'refuses one level more', text: '[[[[1]]]]', error: 'NestingTooDeep' },
    { name: 'counts objects and arrays alike', text: '{"a":[{"b":1}]}', error: undefined },
    { name: 'refuses objects nested too deep', text: '{"a":{"b":{"c":{}}}}', error: 'NestingTooDeep' },
    { name: 'ignores brackets and commas inside strings', text: '["[[[[,,,,,,", "]"]', error: undefined },
    { name: 'is not fooled by an escaped quote', text: '["\\"[[[[", 1]', error: undefined },
    { name: 'accepts values up to the element limit', text: '[1,2,3,4]', error: undefined },
    { name: 'refuses more values than the limit', text: '[1,2,3,4,5,6]', error: 'TooManyElements' },
    { name: 'leaves malformed JSON to the parser', text: '[1,', error: undefined },
  ])('$name', ({ text, error }) => {
    if (error) expect(() => checkJsonLimits(text, limits)).toThrow(expect.objectContaining({ code: error }));
    else expect(() => checkJsonLimits(text, limits)).not.toThrow();
  });
});

describe('the prototype-poisoning hint', () => {
  it.each([
    {
      name: 'is clear for numbers and plain keys',
      text: '{"inputs":[{"name":"x","data":[1,2]}]}',
      want: false,
    },
    { name: 'is set by a __proto__ key', text: '{"__proto__":{"a":1}}', want: true },
    { name: 'is set by a constructor key', text: '{"constructor":{"prototype":{}}}', want: true },
    { name: 'is set by any escape, which could spell either', text: '{"\\u005f_proto__":1}', want: true },
    {
      name: 'is clear for longer strings that contain the names',
      text: '["my__proto__", "constructors"]',
      want: false,
    },
  ])('$name', ({ text, want }) => {
    expect(checkJsonLimits(text, { maxDepth: 8, maxElements: 100 }).mayPoison).toBe(want);
  });
});
