import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  ParseUUIDPipe,
  Post,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import {
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import {
  CurrentUser,
  currentUserOf,
  Public,
  RequireCapabilities,
  RequireFreshAuth,
  RequireMfa,
  RequireScopes,
} from '@gatehouse/nest-auth';
import { IsString, MaxLength, MinLength } from 'class-validator';

import { type Note, NotesRepository } from './notes.repository.js';

export class CreateNoteDto {
  @ApiProperty({ example: 'Buy milk', maxLength: 2000 })
  @IsString()
  @MinLength(1)
  @MaxLength(2000)
  text!: string;
}

export class WhoamiResponseDto {
  @ApiProperty({ description: 'The user, or for a service token its client.' })
  id!: string;

  @ApiProperty({ enum: ['user', 'service'] })
  kind!: string;
}

export class AssuranceResponseDto extends WhoamiResponseDto {
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'When the user last signed in (`auth_time`).',
  })
  authenticatedAt!: string | null;

  @ApiProperty({ type: [String], description: 'How (RFC 8176 `amr`): `pwd`, `otp`, `mfa`…' })
  amr!: readonly string[];

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The class of that sign-in (`acr`): `urn:gatehouse:acr:pwd`, `…:mfa` or `phr`.',
  })
  acr!: string | null;
}

function assuranceOf(user: CurrentUser): AssuranceResponseDto {
  return {
    id: user.id,
    kind: user.kind,
    authenticatedAt: user.authenticatedAt?.toISOString() ?? null,
    amr: user.amr,
    acr: user.acr,
  };
}

/** How recent a sign-in `GET /whoami/assurance` needs, as a sensitive route of an app would. */
export const FRESH_AUTH_SECONDS = 300;

export const NOTES_API_INSTANCE_ID = Symbol('NOTES_API_INSTANCE_ID');

/** What Fastify's reply and Express's response both offer (the example runs on either). */
export interface HeaderWriter {
  header(name: string, value: string): unknown;
}

/** The whole example: every route needs a caller, `@CurrentUser()` owns the data. */
@ApiTags('notes')
@ApiBearerAuth()
@Controller()
export class NotesController {
  constructor(
    private readonly notes: NotesRepository,
    @Inject(NOTES_API_INSTANCE_ID) private readonly instanceId: string | undefined,
  ) {}

  @Public()
  @Get('health')
  @ApiOkResponse({
    schema: { example: { status: 'ok' } },
    headers: {
      'Gatehouse-Instance': { description: '`INSTANCE_ID`, when set (`npm start` sets one).' },
    },
  })
  health(@Res({ passthrough: true }) response: HeaderWriter): { status: 'ok' } {
    if (this.instanceId) {
      response.header('gatehouse-instance', this.instanceId);
    }
    return { status: 'ok' };
  }

  /**
   * The smallest authenticated route: what a bearer token costs on top of `GET /health`. Its caller
   * comes off the request (`currentUserOf`), as on a hot route: `@CurrentUser()` would add the
   * global ValidationPipe's promise chain, a cost of this app's pipes rather than of the token.
   */
  @Get('whoami')
  @ApiOkResponse({ type: WhoamiResponseDto })
  whoami(@Req() request: object): WhoamiResponseDto {
    const user = currentUserOf(request);
    return { id: user.id, kind: user.kind };
  }

  /**
   * The same answer through Passport: `GatehouseJwtStrategy` (passport-jwt) instead of the global
   * guard, which leaves this route to it. Bearer tokens only. The caller is read as on `/whoami`, so
   * the two differ by the guard alone.
   */
  @Get('whoami/passport')
  @UseGuards(AuthGuard('gatehouse'))
  @ApiOperation({
    summary: "GET /whoami through AuthGuard('gatehouse') (passport-jwt); bearer tokens only",
  })
  @ApiOkResponse({ type: WhoamiResponseDto })
  @ApiUnauthorizedResponse({
    description: '`MISSING_CREDENTIALS`, `INVALID_TOKEN`, `TOKEN_EXPIRED`, `SESSION_REVOKED`.',
  })
  whoamiThroughPassport(@Req() request: object): WhoamiResponseDto {
    const user = currentUserOf(request);
    return { id: user.id, kind: user.kind };
  }

  /**
   * A route that needs a recent sign-in (as changing something sensitive would): the caller's sign-in
   * as the guard sees it.
   */
  @Get('whoami/assurance')
  @RequireFreshAuth(FRESH_AUTH_SECONDS)
  @ApiOperation({
    summary: 'When and how you signed in; needs a sign-in within the last 5 minutes.',
    description:
      'An older sign-in gets 401 `INSUFFICIENT_USER_AUTHENTICATION` with `WWW-Authenticate: Bearer error="insufficient_user_authentication", max_age="300"`: send the user through `/oauth/authorize?max_age=0` and retry with the new token.',
  })
  @ApiOkResponse({ type: AssuranceResponseDto })
  assurance(@CurrentUser() user: CurrentUser): AssuranceResponseDto {
    return assuranceOf(user);
  }

  /** The same through Passport (`AuthGuard('gatehouse')`): the step-up check is the same code. */
  @Get('whoami/passport/assurance')
  @UseGuards(AuthGuard('gatehouse'))
  @RequireFreshAuth(FRESH_AUTH_SECONDS)
  @ApiOperation({
    summary: "GET /whoami/assurance through AuthGuard('gatehouse'); bearer tokens only",
  })
  @ApiOkResponse({ type: AssuranceResponseDto })
  assuranceThroughPassport(@CurrentUser() user: CurrentUser): AssuranceResponseDto {
    return assuranceOf(user);
  }

  /** Every note of the caller at once: worth a second factor. */
  @Get('notes/export')
  @RequireMfa()
  @ApiOperation({
    summary: 'All your notes at once; needs a sign-in with a second factor.',
    description:
      'A password-only sign-in gets 401 `INSUFFICIENT_USER_AUTHENTICATION` with `WWW-Authenticate: Bearer error="insufficient_user_authentication", acr_values="urn:gatehouse:acr:mfa phr"`: send the user through `/oauth/authorize?acr_values=urn:gatehouse:acr:mfa` and retry with the new token.',
  })
  exportNotes(@CurrentUser() user: CurrentUser): Promise<Note[]> {
    return this.notes.listForOwner(user.userId());
  }

  @Post('notes')
  @HttpCode(201)
  create(@Body() body: CreateNoteDto, @CurrentUser() user: CurrentUser): Promise<Note> {
    return this.notes.create(user.userId(), body.text);
  }

  @Get('notes')
  list(@CurrentUser() user: CurrentUser): Promise<Note[]> {
    return this.notes.listForOwner(user.userId());
  }

  /** For reporting services: a client-credentials token with the `notes:read` scope. */
  @Get('notes/stats')
  @RequireScopes('notes:read')
  async stats(): Promise<{ count: number }> {
    return { count: await this.notes.count() };
  }

  /** Moderators (role → `notes:moderate` in this app's capability map) may delete any note. */
  @Delete('notes/:id')
  @HttpCode(204)
  @RequireCapabilities('notes:moderate')
  async remove(@Param('id', ParseUUIDPipe) id: string): Promise<void> {
    if (!(await this.notes.delete(id))) {
      throw new NotFoundException({ error: 'NOTE_NOT_FOUND', message: 'No such note.' });
    }
  }
}
