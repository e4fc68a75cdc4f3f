import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsOptional,
  IsString,
  MaxLength,
  MinLength,
} from 'class-validator';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '@gatehouse/identity';
import type { WebhookDeliveryView, WebhookEndpointView } from '@gatehouse/persistence';

const URL_DESCRIPTION =
  'Where events are POSTed. Must pass the SSRF guard: absolute http(s) (https only in production), no user:password@, not a private, loopback or unspecified address unless `OUTBOUND_ALLOW_PRIVATE=true`, never a link-local or cloud metadata address; a host name is resolved and checked again at every delivery. Refused: 400 `VALIDATION_FAILED` with the reason on `url`.';

const EVENT_TYPES_DESCRIPTION =
  'The events this endpoint receives (at least one): `user.created`, `user.disabled`, `user.password_changed`, `session.created`, `session.revoked`, `refresh_token.reuse_detected`, `mfa.enrolled`, `mfa.removed`, `mfa.reset`, `federation.signed_in`, `federation.linked`, `federation.unlinked`, `federation.refused`, `client.created`, `client.updated`, `client.deleted`.';

export class CreateWebhookDto {
  @ApiProperty({ example: 'https://hooks.example.com/gatehouse', description: URL_DESCRIPTION })
  @IsString()
  @MinLength(1)
  @MaxLength(2000)
  url!: string;

  @ApiProperty({
    type: [String],
    enum: WEBHOOK_EVENT_TYPES,
    example: ['user.created', 'session.revoked'],
    description: EVENT_TYPES_DESCRIPTION,
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(WEBHOOK_EVENT_TYPES.length)
  @IsIn(WEBHOOK_EVENT_TYPES, { each: true })
  eventTypes!: WebhookEventType[];

  @ApiPropertyOptional({ maxLength: 500, example: 'Fraud service' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;
}

export class UpdateWebhookDto {
  @ApiPropertyOptional({ description: URL_DESCRIPTION })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(2000)
  url?: string;

  @ApiPropertyOptional({
    type: [String],
    enum: WEBHOOK_EVENT_TYPES,
    description: EVENT_TYPES_DESCRIPTION,
  })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(WEBHOOK_EVENT_TYPES.length)
  @IsIn(WEBHOOK_EVENT_TYPES, { each: true })
  eventTypes?: WebhookEventType[];

  @ApiPropertyOptional({ maxLength: 500, nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string | null;

  @ApiPropertyOptional({
    description:
      '`false` stops deliveries (pending ones fail with `endpoint disabled`); `true` enables it again, clearing `disabledReason` (also after an automatic disable).',
  })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;
}

const iso = (at: Date | string | null) => (at === null ? null : new Date(at).toISOString());

export function toWebhookResponse(endpoint: WebhookEndpointView) {
  return {
    id: endpoint.id,
    url: endpoint.url,
    description: endpoint.description,
    eventTypes: endpoint.eventTypes,
    enabled: endpoint.enabled,
    disabledReason: endpoint.disabledReason,
    disabledAt: iso(endpoint.disabledAt),
    failingSince: iso(endpoint.failingSince),
    previousSecretExpiresAt: iso(endpoint.previousSecretExpiresAt),
    createdAt: iso(endpoint.createdAt),
    updatedAt: iso(endpoint.updatedAt),
  };
}

export function toDeliveryResponse(delivery: WebhookDeliveryView) {
  return {
    id: delivery.id,
    endpointId: delivery.endpointId,
    eventType: delivery.eventType,
    status: delivery.status,
    attempts: delivery.attempts,
    nextAttemptAt: iso(delivery.nextAttemptAt),
    lastResponseStatus: delivery.lastResponseStatus,
    lastError: delivery.lastError,
    lastBodyExcerpt: delivery.lastBodyExcerpt,
    createdAt: iso(delivery.createdAt),
    lastAttemptAt: iso(delivery.lastAttemptAt),
    deliveredAt: iso(delivery.deliveredAt),
  };
}

export const WEBHOOK_EXAMPLE = {
  id: '6e1f0a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b',
  url: 'https://hooks.example.com/gatehouse',
  description: 'Fraud service',
  eventTypes: ['user.created', 'session.revoked'],
  enabled: true,
  disabledReason: null,
  disabledAt: null,
  failingSince: null,
  previousSecretExpiresAt: null,
  createdAt: '2026-12-06T18:00:00.000Z',
  updatedAt: '2026-12-06T18:00:00.000Z',
};

export const DELIVERY_EXAMPLE = {
  id: 'msg_3q2l7uQk1nXW0h6mC9Yb2A',
  endpointId: WEBHOOK_EXAMPLE.id,
  eventType: 'session.revoked',
  status: 'pending',
  attempts: 2,
  nextAttemptAt: '2026-12-06T18:05:05.000Z',
  lastResponseStatus: 503,
  lastError: 'status 503',
  lastBodyExcerpt: 'upstream unavailable',
  createdAt: '2026-12-06T18:00:00.000Z',
  lastAttemptAt: '2026-12-06T18:00:05.000Z',
  deliveredAt: null,
};
