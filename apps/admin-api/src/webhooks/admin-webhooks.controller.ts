import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import {
  ApiAuthenticated,
  ApiCsrfChecked,
  ErrorResponseDto,
  RequestClient,
  uuidParam,
} from '@gatehouse/http';
import { ADMIN_SCOPE, type ClientContext, WebhookService } from '@gatehouse/identity';
import { CurrentUser, RequireCapabilities, RequireScopes } from '@gatehouse/nest-auth';

import { PageQueryDto } from '../admin-api.dto.js';
import { decodeCursor, keysetPage } from '../keyset-cursor.js';
import {
  CreateWebhookDto,
  DELIVERY_EXAMPLE,
  toDeliveryResponse,
  toWebhookResponse,
  UpdateWebhookDto,
  WEBHOOK_EXAMPLE,
} from './admin-webhooks.dto.js';

/** A documentation example that reads as one (32 bytes of 'example-only-not-a-real-secret!!'). */
const SECRET_EXAMPLE = 'whsec_ZXhhbXBsZS1vbmx5LW5vdC1hLXJlYWwtc2VjcmV0ISE=';

@ApiTags('webhooks')
@ApiAuthenticated()
@RequireScopes(ADMIN_SCOPE)
@RequireCapabilities('webhooks:manage')
@ApiNotFoundResponse({ type: ErrorResponseDto, description: '`WEBHOOK_NOT_FOUND`.' })
@Controller('admin/webhooks')
export class AdminWebhooksController {
  constructor(private readonly webhooks: WebhookService) {}

  @Post()
  @HttpCode(201)
  @ApiCsrfChecked()
  @ApiOperation({
    summary: 'Register a webhook endpoint (Standard Webhooks); its secret is shown once.',
    description:
      'Events are POSTed as `{type, timestamp, data}` with `webhook-id`, `webhook-timestamp` and `webhook-signature` (HMAC-SHA256, `v1,<base64>`) headers, verifiable with the `standardwebhooks` package and the `secret` answered here (`whsec_…`), which is stored sealed and never shown again (rotate it to get a new one). Audited.',
  })
  @ApiCreatedResponse({ schema: { example: { ...WEBHOOK_EXAMPLE, secret: SECRET_EXAMPLE } } })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description:
      '`VALIDATION_FAILED`: bad fields, or a URL the SSRF guard refuses (reason on `url`).',
  })
  async create(
    @Body() body: CreateWebhookDto,
    @CurrentUser() operator: CurrentUser,
    @RequestClient() client: ClientContext,
  ) {
    const { endpoint, secret } = await this.webhooks.create(
      { url: body.url, eventTypes: body.eventTypes, description: body.description ?? null },
      { id: operator.userId(), context: client },
    );
    return { ...toWebhookResponse(endpoint), secret };
  }

  @Get()
  @ApiOperation({ summary: 'Every webhook endpoint, newest first (never a secret).' })
  @ApiOkResponse({ schema: { example: [WEBHOOK_EXAMPLE] } })
  async list() {
    return (await this.webhooks.list()).map(toWebhookResponse);
  }

  @Get(':id')
  @ApiOperation({
    summary: 'One webhook endpoint, with why it is disabled when it is (never a secret).',
    description:
      '`disabledReason` says who disabled it: an operator, or Gatehouse after every delivery failed for `WEBHOOK_DISABLE_AFTER_SECONDS` (`failingSince` is when the streak began).',
  })
  @ApiOkResponse({ schema: { example: WEBHOOK_EXAMPLE } })
  async get(@Param('id', uuidParam()) id: string) {
    return toWebhookResponse(await this.webhooks.get(id));
  }

  @Patch(':id')
  @ApiCsrfChecked()
  @ApiOperation({
    summary: 'Change the URL, events or description, or disable / enable the endpoint (audited).',
  })
  @ApiOkResponse({ schema: { example: WEBHOOK_EXAMPLE } })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: '`VALIDATION_FAILED`.' })
  async update(
    @Param('id', uuidParam()) id: string,
    @Body() body: UpdateWebhookDto,
    @CurrentUser() operator: CurrentUser,
    @RequestClient() client: ClientContext,
  ) {
    return toWebhookResponse(
      await this.webhooks.update(
        id,
        {
          url: body.url,
          eventTypes: body.eventTypes,
          description: body.description,
          enabled: body.enabled,
        },
        { id: operator.userId(), context: client },
      ),
    );
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiCsrfChecked()
  @ApiOperation({
    summary: 'Delete the endpoint and its delivery log; pending deliveries stop (audited).',
  })
  @ApiNoContentResponse({ description: 'Deleted.' })
  async remove(
    @Param('id', uuidParam()) id: string,
    @CurrentUser() operator: CurrentUser,
    @RequestClient() client: ClientContext,
  ) {
    await this.webhooks.delete(id, { id: operator.userId(), context: client });
  }

  @Post(':id/secret/rotate')
  @HttpCode(200)
  @ApiCsrfChecked()
  @ApiOperation({
    summary: 'A new signing secret, shown once; the previous one keeps signing for 24 h (audited).',
    description:
      'During the overlap every delivery carries two signatures (`v1,<new> v1,<previous>`), so receivers can switch secrets without losing an event.',
  })
  @ApiOkResponse({
    schema: {
      example: {
        ...WEBHOOK_EXAMPLE,
        previousSecretExpiresAt: '2026-12-07T18:00:00.000Z',
        secret: SECRET_EXAMPLE,
      },
    },
  })
  async rotate(
    @Param('id', uuidParam()) id: string,
    @CurrentUser() operator: CurrentUser,
    @RequestClient() client: ClientContext,
  ) {
    const { endpoint, secret } = await this.webhooks.rotateSecret(id, {
      id: operator.userId(),
      context: client,
    });
    return { ...toWebhookResponse(endpoint), secret };
  }

  @Get(':id/deliveries')
  @ApiOperation({
    summary: "The endpoint's delivery log, newest first, keyset-paginated.",
    description:
      'One row per event: its `id` is the `webhook-id`; status `pending` (an attempt is scheduled at `nextAttemptAt`), `succeeded` (answered 2xx) or `failed` (no attempt left, or the URL was refused); attempts, the last response status, error and at most 256 bytes of the body. Never the payload. Pass `nextCursor` back as `cursor` for the next page.',
  })
  @ApiOkResponse({ schema: { example: { items: [DELIVERY_EXAMPLE], nextCursor: null } } })
  async deliveries(@Param('id', uuidParam()) id: string, @Query() query: PageQueryDto) {
    const limit = query.limit ?? 50;
    const cursor = decodeCursor(query.cursor, 'messageId');
    return keysetPage(await this.webhooks.deliveries(id, cursor, limit), limit, toDeliveryResponse);
  }

  @Post(':id/deliveries/:deliveryId/replay')
  @HttpCode(200)
  @ApiCsrfChecked()
  @ApiOperation({
    summary:
      'Send one delivery again now, same `webhook-id`, with a fresh set of attempts (audited).',
  })
  @ApiOkResponse({ schema: { example: { ...DELIVERY_EXAMPLE, attempts: 0 } } })
  @ApiNotFoundResponse({
    type: ErrorResponseDto,
    description: '`WEBHOOK_NOT_FOUND` or `WEBHOOK_DELIVERY_NOT_FOUND`.',
  })
  async replay(
    @Param('id', uuidParam()) id: string,
    @Param('deliveryId') deliveryId: string,
    @CurrentUser() operator: CurrentUser,
    @RequestClient() client: ClientContext,
  ) {
    return toDeliveryResponse(
      await this.webhooks.replay(id, deliveryId.slice(0, 64), {
        id: operator.userId(),
        context: client,
      }),
    );
  }
}
