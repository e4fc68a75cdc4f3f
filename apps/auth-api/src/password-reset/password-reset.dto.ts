import { ApiProperty } from '@nestjs/swagger';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '@gatehouse/identity';
import { Transform } from 'class-transformer';
import { IsEmail, IsString, MaxLength } from 'class-validator';

import { IsAcceptablePassword } from '../account/account.dto.js';

/** One body for every address: whether it has an account is never told. */
export const FORGOT_PASSWORD_ANSWER =
  'If an account has this address, a link to choose a new password is on its way.';

export class ForgotPasswordRequestDto {
  @ApiProperty({
    example: 'ada@example.com',
    maxLength: 254,
    description: 'The answer is the same whether an account has this address or not.',
  })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  @IsEmail({}, { message: 'email must be a valid email address' })
  @MaxLength(254)
  email!: string;
}

export class ForgotPasswordResponseDto {
  @ApiProperty({ example: FORGOT_PASSWORD_ANSWER })
  message!: string;
}

export class ResetPasswordRequestDto {
  @ApiProperty({
    example: 'q3Jk0Zb9pXcV1nWm8sLr2TyU4eIo6AaBdCfGhJkLmNo',
    maxLength: 512,
    description: 'The `token` parameter of the link in the reset mail.',
  })
  @IsString()
  @MaxLength(512)
  token!: string;

  @ApiProperty({
    example: 'a new and longer passphrase',
    minLength: PASSWORD_MIN_LENGTH,
    maxLength: PASSWORD_MAX_LENGTH,
    description: 'Same policy as registration; not the account’s email.',
  })
  @IsString()
  @IsAcceptablePassword()
  newPassword!: string;
}
