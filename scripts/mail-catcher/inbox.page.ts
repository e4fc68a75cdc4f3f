import type { CaughtMail } from './caught-mail.js';
import { escapeHtml, renderPage } from './catcher-page.js';

/** `GET /`: every mail received since the catcher started, newest first. */
export function inboxPage(mails: readonly CaughtMail[]): string {
  const rows = mails
    .map(
      (mail) => `<tr>
<td>${escapeHtml(mail.receivedAt.toISOString().replace('T', ' ').slice(0, 19))}</td>
<td>${escapeHtml(mail.to)}</td>
<td><a href="/messages/${mail.id}">${escapeHtml(mail.subject)}</a></td>
</tr>`,
    )
    .join('\n');
  const main =
    mails.length === 0
      ? '<p>No mail yet. Every mail the apps send while <code>npm start</code> runs shows up here (reload the page).</p>'
      : `<table>
<thead><tr><th>Received (UTC)</th><th>To</th><th>Subject</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`;
  return renderPage(`Mail (${mails.length})`, main);
}
