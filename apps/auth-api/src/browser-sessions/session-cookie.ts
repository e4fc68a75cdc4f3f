import type { FastifyReply } from 'fastify';

/** OWASP Session Management: not readable by scripts, HTTPS only, not sent on cross-site subrequests. */
const ATTRIBUTES = { httpOnly: true, secure: true, sameSite: 'lax', path: '/' } as const;

export function setSessionCookie(
  reply: FastifyReply,
  name: string,
  token: string,
  maxAgeSeconds: number,
): void {
  void reply.setCookie(name, token, { ...ATTRIBUTES, maxAge: maxAgeSeconds });
}

export function clearSessionCookie(reply: FastifyReply, name: string): void {
  void reply.clearCookie(name, ATTRIBUTES);
}
