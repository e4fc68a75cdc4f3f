/**
 * RFC 6750 §2.1: `Bearer` (any case), spaces, then the token; undefined for any other header. A plain
 * scan rather than a regular expression: this runs on every request, over a header of ~700 bytes.
 */
export function bearerTokenOf(header: string | undefined): string | undefined {
  if (header === undefined || header.length < 8 || header.slice(0, 6).toLowerCase() !== 'bearer') {
    return undefined;
  }
  let start = 6;
  while (header.charCodeAt(start) === 32) {
    start += 1;
  }
  const token = header.slice(start);
  return start > 6 && token.length > 0 && !/\s/.test(token) ? token : undefined;
}
