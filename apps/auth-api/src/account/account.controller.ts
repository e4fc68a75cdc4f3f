import { Body, Controller, HttpCode, Ip, Post, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import { ErrorResponseDto } from '@gatehouse/http';
import { UserService } from '@gatehouse/identity';
import { Public } from '@gatehouse/nest-auth';

import { RegisterRequestDto, toUserResponse, UserResponseDto } from './account.dto.js';
import { RegistrationLimitGuard } from './registration-limit.guard.js';

@ApiTags('account')
@Controller('auth')
export class AccountController {
  constructor(private readonly users: UserService) {}

  @Public()
  @Post('register')
  @UseGuards(RegistrationLimitGuard)
  @HttpCode(201)
  @ApiOperation({ summary: 'Create an account with an email and a password.' })
  @ApiCreatedResponse({ type: UserResponseDto })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description: '`VALIDATION_FAILED` with field messages.',
  })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description: '`EMAIL_TAKEN`, in any letter case.',
  })
  @ApiTooManyRequestsResponse({
    type: ErrorResponseDto,
    description:
      '`RATE_LIMITED`, with `Retry-After`: `REGISTRATION_ATTEMPTS_PER_IP` attempts per IP per `REGISTRATION_WINDOW_SECONDS` (every attempt counts, whatever its outcome), or the IP spent its failed-attempt budget on `EMAIL_TAKEN` answers.',
  })
  @ApiServiceUnavailableResponse({
    type: ErrorResponseDto,
    description:
      '`SERVICE_BUSY`: too many password hashes queued (sign-ins go first), with `Retry-After`.',
  })
  async register(@Body() body: RegisterRequestDto, @Ip() ip: string): Promise<UserResponseDto> {
    return toUserResponse(await this.users.register({ ...body, ip }));
  }
}
