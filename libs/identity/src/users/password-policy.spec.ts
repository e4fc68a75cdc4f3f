import { describe, expect, it } from 'vitest';

import { passwordProblems } from './password-policy.js';

describe(passwordProblems.name, () => {
  it('accepts a long, uncommon passphrase', () => {
    expect(passwordProblems('correct horse battery staple')).toEqual([]);
  });

  it('refuses fewer than 8 characters, counting code points', () => {
    expect(passwordProblems('short1!')).toEqual(['password must be at least 8 characters long']);
    // Seven emoji are fourteen UTF-16 units but seven characters.
    expect(passwordProblems('🔑🔒🔓🚪🏠🌉🛡')).toEqual([
      'password must be at least 8 characters long',
    ]);
    expect(passwordProblems('🔑🔒🔓🚪🏠🌉🛡🌲')).toEqual([]);
  });

  it('refuses more than 128 characters', () => {
    expect(passwordProblems('x'.repeat(100) + 'y'.repeat(29))).toEqual([
      'password must be at most 128 characters long',
    ]);
  });

  it.each(['password', 'Password123', '12345678', 'qwertyuiop', 'zzzzzzzzzz'])(
    'refuses the common password %s',
    (password) => {
      expect(passwordProblems(password)).toEqual([
        'password is too common; choose a less predictable one',
      ]);
    },
  );

  it('refuses the email or its local part', () => {
    expect(passwordProblems('alice.smith', ['alice.smith@example.com'])).toEqual([
      'password must not be the same as the email address',
    ]);
  });

  it('applies the policy after NFKC normalisation', () => {
    // Fullwidth digits normalise to "12345678".
    expect(passwordProblems('１２３４５６７８')).toEqual([
      'password is too common; choose a less predictable one',
    ]);
  });
});
