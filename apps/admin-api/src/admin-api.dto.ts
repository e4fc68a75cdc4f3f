import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  IsArray,
  IsBoolean,
  IsDate,
  IsEmail,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Max,
  MaxLength,
  Min,
  IsUrl,
} from 'class-validator';

const toBoolean = ({ value }: { value: unknown }) =>
  value === 'true' ? true : value === 'false' ? false : value;

/** Page size and position shared by the listings. */
export class PageQueryDto {
  @ApiPropertyOptional({ description: 'Opaque: the nextCursor of the previous page.' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;
}

export class SessionListQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  userId?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsEmail()
  email?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(128)
  clientId?: string;

  @ApiPropertyOptional({ enum: ['cookie', 'token'] })
  @IsOptional()
  @IsIn(['cookie', 'token'])
  kind?: 'cookie' | 'token';

  @ApiPropertyOptional({ description: 'true: live sessions only; false: ended ones only.' })
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  active?: boolean;

  @ApiPropertyOptional({ format: 'date-time' })
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  createdBefore?: Date;

  @ApiPropertyOptional({ format: 'date-time' })
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  createdAfter?: Date;
}

export class RevokeSessionDto {
  @ApiPropertyOptional({ maxLength: 200, description: 'Why, for the audit log.' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  reason?: string;
}

export class UserSearchQueryDto {
  @ApiProperty({ description: 'An email or its beginning (case-insensitive).' })
  @IsString()
  @MaxLength(254)
  email!: string;
}

export class SetRolesDto {
  @ApiProperty({ type: [String], example: ['support'] })
  @IsArray()
  @IsString({ each: true })
  @MaxLength(64, { each: true })
  roles!: string[];
}

export class AuditQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ example: 'user:…' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  actor?: string;

  @ApiPropertyOptional({ example: 'user:…' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  subject?: string;

  @ApiPropertyOptional({ example: 'login.failed' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  action?: string;

  @ApiPropertyOptional({ format: 'date-time' })
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  from?: Date;

  @ApiPropertyOptional({ format: 'date-time' })
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  to?: Date;
}

export class CreateClientDto {
  @ApiProperty({ maxLength: 200 })
  @IsString()
  @MaxLength(200)
  name!: string;

  @ApiProperty({ type: [String], example: ['client_credentials'] })
  @IsArray()
  @IsIn(['refresh_token', 'client_credentials'], { each: true })
  grantTypes!: ('refresh_token' | 'client_credentials')[];

  @ApiPropertyOptional({ type: [String], example: ['notes:read'] })
  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  @MaxLength(64, { each: true })
  scopes?: string[];

  @ApiPropertyOptional({ type: [String], example: ['https://app.example.com/callback'] })
  @IsOptional()
  @IsArray()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] }, { each: true })
  redirectUris?: string[];

  @ApiPropertyOptional({ description: 'A public client has no secret.' })
  @IsOptional()
  @IsBoolean()
  public?: boolean;
}

export class UpdateClientDto {
  @ApiPropertyOptional({ maxLength: 200 })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray()
  @IsIn(['refresh_token', 'client_credentials'], { each: true })
  grantTypes?: ('refresh_token' | 'client_credentials')[];

  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  @MaxLength(64, { each: true })
  scopes?: string[];

  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] }, { each: true })
  redirectUris?: string[];
}
