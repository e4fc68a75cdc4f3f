import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';

import { eventFromAudit } from './webhook-events.js';
import { newWebhookSecret, signWebhook } from './webhook-signature.js';

describe('eventFromAudit', () => {
  const user = 'user:0b6f9a2e-4c1d-4e7a-9b3f-2d8c5e1a7f60';
  const userId = user.slice(5);

  it('maps the audit actions that are events, keeping data minimal', () => {
    expect(
      eventFromAudit({ actor: user, action: 'user.registered', subject: user, ip: '10.0.0.1' }),
    ).toEqual({
      type: 'user.created',
      data: { userId },
      aboutUser: userId,
    });
    expect(
      eventFromAudit({
        actor: user,
        action: 'refresh_token.reuse_detected',
        subject: user,
        details: {
          sessionId: 's',
          clientId: 'c',
          tokenId: 't',
          rotatedIp: '1.2.3.4',
          replayIp: '5.6.7.8',
        },
      }),
    ).toEqual({
      type: 'refresh_token.reuse_detected',
      data: { userId, sessionId: 's', clientId: 'c' },
    });
    expect(
      eventFromAudit({
        actor: 'system',
        action: 'admin.client_secret_rotated',
        subject: 'client:abc',
      }),
    ).toEqual({ type: 'client.updated', data: { clientId: 'abc' } });
    expect(
      eventFromAudit({
        actor: 'system',
        action: 'federation.refused',
        subject: 'identity_provider:corp',
        details: { provider: 'corp', reason: 'email_not_verified', email: 'someone@example.com' },
      }),
    ).toEqual({
      type: 'federation.refused',
      data: { provider: 'corp', reason: 'email_not_verified' },
    });
  });

  it('answers null for actions that are no event, and for an operator that already existed', () => {
    expect(eventFromAudit({ actor: user, action: 'login.failed', subject: user })).toBeNull();
    expect(eventFromAudit({ actor: user, action: 'session.revoked', subject: user })).toBeNull();
    expect(
      eventFromAudit({
        actor: 'system',
        action: 'admin.operator_created',
        subject: user,
        details: { created: false },
      }),
    ).toBeNull();
  });
});

describe('signWebhook', () => {
  it('produces signatures the standardwebhooks reference implementation accepts, one per secret', () => {
    const current = newWebhookSecret();
    const previous = newWebhookSecret();
    const body = JSON.stringify({
      type: 'user.created',
      timestamp: '2026-12-06T18:00:00.000Z',
      data: {},
    });
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = signWebhook('msg_1', timestamp, body, [current, previous]);
    expect(signature.split(' ')).toHaveLength(2);
    const headers = {
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signature,
    };
    expect(new Webhook(current).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new Webhook(previous).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(newWebhookSecret()).verify(body, headers)).toThrow();
    expect(() => new Webhook(current).verify(`${body} `, headers)).toThrow();
    expect(signature).toBe(
      new Webhook(current).sign('msg_1', new Date(timestamp * 1000), body) +
        ` ${signWebhook('msg_1', timestamp, body, [previous])}`,
    );
  });
});
