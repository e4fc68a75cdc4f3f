import { describe, expect, it } from 'vitest';

import { jsonShapeProblem, MAX_JSON_ARRAY_ITEMS, MAX_JSON_DEPTH } from './json-body-shape.js';

const problemOf = (json: string) => jsonShapeProblem(Buffer.from(json, 'utf8'));
const nested = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
const array = (items: number) => `[${Array.from({ length: items }, () => '0').join(',')}]`;

const TOO_DEEP = 'JSON bodies may nest objects and arrays at most 32 levels deep.';
const TOO_LONG = 'JSON arrays may hold at most 1000 items.';

describe(jsonShapeProblem.name, () => {
  it.each([
    ['an object', '{"email":"ada@example.com","password":"correct horse battery staple"}'],
    ['nested objects and arrays', '{"a":[{"b":[1,2,{"c":null}]}],"d":{"e":[]}}'],
    ['an empty body', ''],
    ['brackets, braces and commas inside strings', `{"s":"${'[{,'.repeat(5000)}"}`],
    ['escaped quotes inside strings', `{"s":"\\"[[[[\\\\","t":"${'['.repeat(40)}"}`],
    ['multi-byte characters', '{"name":"Zoë 日本 🚀","list":["é","ß"]}'],
    [`${MAX_JSON_DEPTH} levels`, nested(MAX_JSON_DEPTH)],
    [`an array of ${MAX_JSON_ARRAY_ITEMS} items`, array(MAX_JSON_ARRAY_ITEMS)],
    [
      'an object with many keys',
      `{${Array.from({ length: 5000 }, (_, i) => `"k${i}":1`).join(',')}}`,
    ],
    ['malformed JSON (left to the parser)', '{"email":'],
  ])('accepts %s', (_case, json) => {
    expect(problemOf(json)).toBeNull();
  });

  it.each([
    [`${MAX_JSON_DEPTH + 1} levels of arrays`, nested(MAX_JSON_DEPTH + 1), TOO_DEEP],
    ['20 000 levels of arrays', nested(20_000), TOO_DEEP],
    ['10 000 levels of objects', `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`, TOO_DEEP],
    ['an unterminated deep prefix', '['.repeat(100), TOO_DEEP],
    [`an array of ${MAX_JSON_ARRAY_ITEMS + 1} items`, array(MAX_JSON_ARRAY_ITEMS + 1), TOO_LONG],
    ['an array of 100 000 items', array(100_000), TOO_LONG],
    ['a long array inside an object', `{"roles":${array(5000)}}`, TOO_LONG],
    ['a long array after a closed short one', `{"a":[1,2],"b":${array(2000)}}`, TOO_LONG],
  ])('refuses %s', (_case, json, problem) => {
    expect(problemOf(json)).toBe(problem);
  });

  it('counts items per array, not across sibling arrays', () => {
    const siblings = `[${Array.from({ length: 10 }, () => array(900)).join(',')}]`;
    expect(problemOf(siblings)).toBeNull();
  });
});
