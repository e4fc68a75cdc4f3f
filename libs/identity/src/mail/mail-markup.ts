/** Markup built by `html`: its interpolations were escaped, so it may be nested as is. */
export class SafeHtml {
  constructor(readonly markup: string) {}

  toString(): string {
    return this.markup;
  }
}

export function escapeHtml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (character) =>
      ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[character]!,
  );
}

type Interpolation = string | number | SafeHtml | readonly SafeHtml[];

/** Every interpolated value is escaped, unless it is itself `html` (or a list of it). */
export function html(strings: TemplateStringsArray, ...values: Interpolation[]): SafeHtml {
  const render = (value: Interpolation): string => {
    if (value instanceof SafeHtml) {
      return value.markup;
    }
    if (Array.isArray(value)) {
      return (value as readonly SafeHtml[]).map(render).join('');
    }
    return escapeHtml(String(value));
  };
  return new SafeHtml(
    strings.reduce((out, text, index) => {
      const value = values[index - 1];
      return out + (value === undefined ? '' : render(value)) + text;
    }),
  );
}

/** `{ISSUER}/path?query`, every parameter URL-encoded. */
export function link(issuer: string, path: string, query: Record<string, string> = {}): string {
  const url = new URL(`${issuer}${path}`);
  for (const [name, value] of Object.entries(query)) {
    url.searchParams.set(name, value);
  }
  return url.href;
}

/** `2025-01-01 10:00 UTC`: the same for every reader, whatever the server's time zone. */
export function formatUtc(at: Date): string {
  return `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
