import { describe, expect, it } from 'vitest';

import { describeDeliveryError } from './delivery-error.js';
import { html } from './mail-markup.js';
import { renderMail } from './mail-templates.js';

const context = {
  productName: 'Gatehouse',
  issuer: 'https://auth.example.com',
  recipient: 'ada@example.com',
};

describe(renderMail.name, () => {
  it('builds the reset link from the issuer, the token URL-encoded, in both parts', () => {
    const mail = renderMail(
      'password-reset',
      context,
      { expiresInMinutes: 30 },
      { token: 'a+b/c=' },
    );
    const link = 'https://auth.example.com/reset-password?token=a%2Bb%2Fc%3D';
    expect(mail.subject).toBe('Reset your Gatehouse password');
    expect(mail.text).toContain(`within 30 minutes: ${link}`);
    expect(mail.html).toContain(`href="${link}"`);
  });

  it('builds the verification link to /verify-email', () => {
    const mail = renderMail(
      'email-verification',
      context,
      { expiresInMinutes: 60 },
      { token: 't' },
    );
    expect(mail.text).toContain('https://auth.example.com/verify-email?token=t');
  });

  it("tells the owner of an operator's factor reset, with the time and where to recover", () => {
    const mail = renderMail('mfa-reset', context, { resetAt: '2025-01-01T10:00:00.000Z' }, null);
    expect(mail.subject).toBe('The second factors of your Gatehouse account were reset');
    expect(mail.text).toContain('on 2025-01-01 10:00 UTC');
    expect(mail.text).toContain('https://auth.example.com/forgot-password');
    expect(mail.html).toContain('href="https://auth.example.com/forgot-password"');
  });

  it('escapes every value it puts into HTML', () => {
    const mail = renderMail(
      'password-changed',
      { ...context, productName: '<script>x</script>', recipient: 'a"b@example.com' },
      { changedAt: '2025-01-01T10:00:00.000Z' },
      null,
    );
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain('&lt;script&gt;x&lt;/script&gt;');
    expect(mail.html).toContain('a&quot;b@example.com');
    expect(mail.text).toContain('changed on 2025-01-01 10:00 UTC');
  });
});

describe(html.name, () => {
  it('nests html fragments as they are and escapes everything else', () => {
    expect(html`<p>${'<b>'}${html`<i>${'&'}</i>`}</p>`.markup).toBe('<p>&lt;b&gt;<i>&amp;</i></p>');
  });
});

describe(describeDeliveryError.name, () => {
  it('keeps the code, the SMTP answer and one line, without addresses or tokens', () => {
    const error = Object.assign(
      new Error(
        'Message failed: 550 rejected https://auth.example.com/reset-password?token=abc\nmore',
      ),
      { code: 'EMESSAGE', responseCode: 550 },
    );
    expect(describeDeliveryError(error)).toBe('EMESSAGE 550: Message failed: 550 rejected [url]');
    expect(describeDeliveryError(new Error('bad token=abc'))).toBe('bad token=[redacted]');
  });
});
