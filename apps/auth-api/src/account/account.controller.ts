import { Body, Controller, HttpCode, Ip, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ErrorResponseDto } from '@gatehouse/http';
import { UserService } from '@gatehouse/identity';
import { Public } from '@gatehouse/nest-auth';

import { RegisterRequestDto, toUserResponse, UserResponseDto } from './account.dto.js';

@ApiTags('account')
@Controller('auth')
export class AccountController {
  constructor(private readonly users: UserService) {}

  @Public()
  @Post('register')
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
  async register(@Body() body: RegisterRequestDto, @Ip() ip: string): Promise<UserResponseDto> {
    return toUserResponse(await this.users.register({ ...body, ip }));
  }
}
