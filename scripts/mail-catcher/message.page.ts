import type { CaughtMail } from './caught-mail.js';
import { escapeHtml, linkified, renderPage } from './catcher-page.js';

/** `GET /messages/:id`: one mail, its text part with clickable links, its HTML part in a frame. */
export function messagePage(mail: CaughtMail): string {
  const html = mail.html
    ? `<h2>HTML</h2>
<iframe src="/messages/${mail.id}/html" title="HTML part" sandbox="allow-popups allow-popups-to-escape-sandbox"></iframe>`
    : '';
  return renderPage(
    mail.subject,
    `<p><a href="/">← All mail</a></p>
<dl>
<dt>From</dt><dd>${escapeHtml(mail.from)}</dd>
<dt>To</dt><dd>${escapeHtml(mail.to)}</dd>
<dt>Received</dt><dd>${escapeHtml(mail.receivedAt.toISOString())}</dd>
</dl>
<h2>Text</h2>
<pre>${linkified(mail.text)}</pre>
${html}`,
  );
}
