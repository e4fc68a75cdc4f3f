import { describe, expect, it } from 'vitest';

import { linkified } from './catcher-page.js';

describe(linkified.name, () => {
  it('makes the links of a mail clickable and escapes everything else', () => {
    expect(linkified('Open http://localhost:3000/reset-password?token=a&b=c now <b>"x"</b>')).toBe(
      'Open <a href="http://localhost:3000/reset-password?token=a&amp;b=c">http://localhost:3000/reset-password?token=a&amp;b=c</a> now &lt;b&gt;&quot;x&quot;&lt;/b&gt;',
    );
  });
});
