import { html, type SafeHtml } from '../mail-markup.js';
import type { MailContext, RenderedMail } from './mail-template.js';

export interface MailBody {
  readonly subject: string;
  /** Paragraphs of the text part, in order. */
  readonly text: readonly string[];
  /** The same content as HTML, built with `html` (so escaped). */
  readonly html: SafeHtml;
}

/**
 * The frame every mail shares: a text part and an HTML part with the same content, signed with the
 * product name. Inline styles only: mail clients drop stylesheets.
 */
export function inLayout(context: MailContext, body: MailBody): RenderedMail {
  const footer = `${context.productName} · ${context.issuer}`;
  return {
    subject: body.subject,
    text: `${body.text.join('\n\n')}\n\n-- \n${footer}\n`,
    html: html`<!doctype html>
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <title>${body.subject}</title>
        </head>
        <body
          style="margin:0;padding:24px;background:#f5f5f5;font-family:system-ui,sans-serif;color:#222"
        >
          <div style="max-width:520px;margin:0 auto;padding:24px;background:#fff;border-radius:8px">
            <p style="margin-top:0;font-weight:600">${context.productName}</p>
            ${body.html}
            <p style="margin-bottom:0;color:#777;font-size:12px">${footer}</p>
          </div>
        </body>
      </html> `.markup,
  };
}

/** A button-like link, and the address written out for clients that show no HTML. */
export function actionLink(label: string, href: string): SafeHtml {
  return html`<p>
      <a
        href="${href}"
        style="display:inline-block;padding:10px 16px;background:#2f6fdf;color:#fff;border-radius:6px;text-decoration:none"
        >${label}</a
      >
    </p>
    <p style="font-size:12px;color:#555">Or paste this address into your browser:<br />${href}</p>`;
}
