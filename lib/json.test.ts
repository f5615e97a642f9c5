import { describe, expect, it } from 'vitest';
import { parseJSON } from './json.ts';

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

describe('parseJSON', () => {
  it('parses JSON', () => {
    expect(parseJSON('{"a":[1,2]}')).toEqual({ a: [1, 2] });
  });

  it.each([
    ['a secret on one line (an unexpected token)', SECRET, /^not valid JSON$/],
    ['a secret after a valid prefix', `{"key": ${SECRET}}`, /^not valid JSON/],
    ['a secret as an unquoted property name', `{\n  ${SECRET}: 1}`, /^not valid JSON \(line 2, column 3\)$/],
    ['a truncated secret', `{"key": "${SECRET}`, /^not valid JSON/],
    ['a secret and a trailing comma', `["${SECRET}",]`, /^not valid JSON/],
  ])('says where %s is wrong without quoting it', (_name, text, expected) => {
    let message = '';
    try {
      parseJSON(text);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(expected);
    expect(message).not.toContain(SECRET.slice(0, 4));
    expect(message).not.toContain('EXAMPLE');
  });
});
