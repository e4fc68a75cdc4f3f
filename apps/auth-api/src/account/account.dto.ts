import { ApiProperty } from '@nestjs/swagger';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, passwordProblems } from '@gatehouse/identity';
import type { User } from '@gatehouse/persistence';
import { Transform } from 'class-transformer';
import { IsEmail, IsString, MaxLength, MinLength, registerDecorator } from 'class-validator';

/** class-validator adapter for the identity password policy, so every problem is reported at once. */
export function IsAcceptablePassword(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isAcceptablePassword',
      target: target.constructor,
      propertyName: String(propertyName),
      validator: {
        // Non-strings are reported by @IsString alone.
        validate: (value: unknown) =>
          typeof value !== 'string' || passwordProblems(value).length === 0,
        defaultMessage: (args) =>
          passwordProblems(String(args?.value))[0] ?? 'password is not acceptable',
      },
    });
}

export class RegisterRequestDto {
  @ApiProperty({
    example: 'ada@example.com',
    maxLength: 254,
    description: 'Compared case-insensitively.',
  })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  @IsEmail({}, { message: 'email must be a valid email address' })
  @MaxLength(254)
  email!: string;

  @ApiProperty({
    example: 'correct horse battery staple',
    minLength: PASSWORD_MIN_LENGTH,
    maxLength: PASSWORD_MAX_LENGTH,
    description: 'NIST SP 800-63B: 8 to 128 characters, not a commonly used password.',
  })
  @IsString()
  @IsAcceptablePassword()
  password!: string;
}

export class ChangePasswordRequestDto {
  @ApiProperty({ example: 'correct horse battery staple', maxLength: PASSWORD_MAX_LENGTH })
  @IsString()
  @MinLength(1)
  @MaxLength(PASSWORD_MAX_LENGTH)
  currentPassword!: string;

  @ApiProperty({
    example: 'a new and longer passphrase',
    minLength: PASSWORD_MIN_LENGTH,
    maxLength: PASSWORD_MAX_LENGTH,
    description: 'Same policy as registration.',
  })
  @IsString()
  @IsAcceptablePassword()
  newPassword!: string;
}

export class UserResponseDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ example: 'ada@example.com' })
  email!: string;

  @ApiProperty({
    example: false,
    description: 'Whether the address proved to be the user’s (a mailed link, or an operator).',
  })
  emailVerified!: boolean;

  @ApiProperty({ type: [String], example: [] })
  roles!: string[];

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;
}

export function toUserResponse(user: User): UserResponseDto {
  return {
    id: user.id,
    email: user.email,
    emailVerified: user.emailVerifiedAt !== null,
    roles: user.roles,
    createdAt: user.createdAt.toISOString(),
  };
}
