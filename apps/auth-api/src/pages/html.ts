import type { FastifyReply } from 'fastify';

/**
 * The sign-in pages are server-rendered HTML without a line of script, so their Content Security
 * Policy can forbid scripts altogether. Every dynamic value goes through `escapeHtml`.
 */
export function escapeHtml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (character) =>
      ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[character]!,
  );
}

/**
 * No script, no frames, no plugins; styles only from our own stylesheet; forms may post to us and,
 * where a page ends in a redirect to a client, to that client's origin (browsers apply form-action
 * to the redirects that follow a form submission). A page that runs a WebAuthn ceremony may load
 * scripts from our own origin (`/assets`) and call our own JSON endpoints; still nothing inline.
 */
export function pageSecurityPolicy(
  formTargets: readonly string[] = [],
  { scripts = false }: { readonly scripts?: boolean } = {},
): string {
  return [
    "default-src 'none'",
    ...(scripts ? ["script-src 'self'", "connect-src 'self'"] : []),
    "style-src 'self'",
    "img-src 'self'",
    `form-action 'self'${formTargets.map((origin) => ` ${origin}`).join('')}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/**
 * `same-origin` (the default): our own requests carry the page's URL as Referer, other sites get none.
 * Not the API's `no-referrer`: under it browsers send `Origin: null` with the pages' own form posts,
 * and the CSRF check needs the real origin. `strict-origin` for a page whose URL holds a secret (a
 * reset link's token): every request from it carries only our origin as Referer, so the token
 * reaches no Referer header, not even our own logs, while form posts keep their real Origin.
 */
export type PageReferrerPolicy = 'same-origin' | 'strict-origin';

export interface Page {
  readonly title: string;
  /** Trusted markup: build it with `escapeHtml` for every value. */
  readonly main: string;
  readonly referrerPolicy?: PageReferrerPolicy;
  /** Scripts of our own `/assets` the page loads (deferred); none by default. */
  readonly scripts?: readonly string[];
}

export function renderPage({
  title,
  main,
  referrerPolicy = 'same-origin',
  scripts = [],
}: Page): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="${referrerPolicy}">
<title>${escapeHtml(title)} · Gatehouse</title>
<link rel="stylesheet" href="/assets/gatehouse.css">
${scripts.map((src) => `<script src="${escapeHtml(src)}" defer></script>\n`).join('')}</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
${main}
</main>
</body>
</html>
`;
}

/** The pages' only stylesheet (served from /assets, so no inline style is needed either). */
export const STYLESHEET = `:root { color-scheme: light dark; font-family: system-ui, sans-serif; }
body { margin: 0; display: grid; place-items: center; min-height: 100vh; }
main { width: min(26rem, 92vw); padding: 2rem; border: 1px solid #8884; border-radius: 0.75rem; }
h1 { font-size: 1.4rem; margin-top: 0; }
label { display: block; margin: 1rem 0 0.25rem; font-weight: 600; }
input { width: 100%; box-sizing: border-box; padding: 0.6rem; font-size: 1rem; }
button { margin-top: 1.25rem; padding: 0.6rem 1.2rem; font-size: 1rem; cursor: pointer; }
.actions { display: flex; gap: 0.75rem; }
.error { color: #b00020; }
ul.scopes { padding-left: 1.2rem; }
:focus-visible { outline: 3px solid #2f6fdf; outline-offset: 2px; }
`;

/** Sends a page with the policy above; pages are never cached (they carry sealed requests). */
export function sendPage(
  reply: FastifyReply,
  status: number,
  page: Page,
  formTargets: readonly string[] = [],
): FastifyReply {
  return reply
    .status(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header(
      'content-security-policy',
      pageSecurityPolicy(formTargets, { scripts: (page.scripts ?? []).length > 0 }),
    )
    .header('referrer-policy', page.referrerPolicy ?? 'same-origin')
    .header('cache-control', 'no-store')
    .send(renderPage(page));
}

export function sendErrorPage(reply: FastifyReply, status: number, message: string): FastifyReply {
  return sendPage(reply, status, {
    title: 'Something went wrong',
    main: `<p class="error" role="alert">${escapeHtml(message)}</p>`,
  });
}

/** The origin of a URI, or null if it is none. */
export function originOf(uri: string | null | undefined): string | null {
  try {
    return uri ? new URL(uri).origin : null;
  } catch {
    return null;
  }
}
