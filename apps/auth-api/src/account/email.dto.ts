import { ApiProperty } from '@nestjs/swagger';
import { PASSWORD_MAX_LENGTH } from '@gatehouse/identity';
import { Transform } from 'class-transformer';
import { IsEmail, IsString, MaxLength, MinLength } from 'class-validator';

export class EmailChangeRequestDto {
  @ApiProperty({
    example: 'ada.lovelace@example.org',
    maxLength: 254,
    description: 'Compared case-insensitively.',
  })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  @IsEmail({}, { message: 'newEmail must be a valid email address' })
  @MaxLength(254)
  newEmail!: string;

  @ApiProperty({
    example: 'correct horse battery staple',
    maxLength: PASSWORD_MAX_LENGTH,
    description: 'The current password: recent authentication before the address changes.',
  })
  @IsString()
  @MinLength(1)
  @MaxLength(PASSWORD_MAX_LENGTH)
  password!: string;
}

export class EmailLinkTokenDto {
  @ApiProperty({
    example: 'hF3q9Tn0bB2xqSg4xvK1n3c5b7yWm9pQz8s6d4f2h0A',
    maxLength: 128,
    description: 'The `token` of the mailed link.',
  })
  @IsString()
  @MaxLength(128)
  token!: string;
}
