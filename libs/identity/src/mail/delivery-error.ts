/**
 * What operators see of a failed attempt (`last_error`): the error code and the SMTP server's answer,
 * one line, no stack, and no address of any kind (an SMTP server may quote the message back, and a
 * link in it would carry a token).
 */
export function describeDeliveryError(error: unknown): string {
  const { code, responseCode, message } = (error ?? {}) as {
    code?: unknown;
    responseCode?: unknown;
    message?: unknown;
  };
  const parts = [
    typeof code === 'string' ? code : undefined,
    typeof responseCode === 'number' ? String(responseCode) : undefined,
  ].filter(Boolean);
  const text = (typeof message === 'string' ? message : String(error))
    .split('\n')[0]!
    .replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, '[url]')
    .replace(/token=\S+/gi, 'token=[redacted]');
  return `${parts.length > 0 ? `${parts.join(' ')}: ` : ''}${text}`.slice(0, 500);
}
