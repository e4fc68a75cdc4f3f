import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import type { MailStatus, MailSummary } from '@gatehouse/persistence';

import { PageQueryDto } from '../admin-api.dto.js';

export const MAIL_STATUSES: readonly MailStatus[] = ['queued', 'sent', 'failed', 'dead'];

export class MailListQueryDto extends PageQueryDto {
  @ApiPropertyOptional({
    enum: MAIL_STATUSES,
    description:
      '`queued`: waiting for its first attempt (or a retry by an operator); `failed`: the last attempt failed, another is scheduled; `dead`: no attempt left; `sent`.',
  })
  @IsOptional()
  @IsIn(MAIL_STATUSES)
  status?: MailStatus;
}

export function toMailResponse(mail: MailSummary) {
  return {
    id: mail.id,
    recipient: mail.recipient,
    template: mail.template,
    status: mail.status,
    attempts: mail.attempts,
    lastError: mail.lastError,
    createdAt: new Date(mail.createdAt).toISOString(),
    lastAttemptAt: mail.lastAttemptAt ? new Date(mail.lastAttemptAt).toISOString() : null,
    sentAt: mail.sentAt ? new Date(mail.sentAt).toISOString() : null,
  };
}

export const MAIL_EXAMPLE = {
  id: '0b6f9a2e-4c1d-4e7a-9b3f-2d8c5e1a7f60',
  recipient: 'ada@example.com',
  template: 'password-changed',
  status: 'dead',
  attempts: 10,
  lastError: 'ECONNECTION: connect ECONNREFUSED 10.0.0.25:587',
  createdAt: '2025-01-01T10:00:00.000Z',
  lastAttemptAt: '2025-01-01T13:36:00.000Z',
  sentAt: null,
};
