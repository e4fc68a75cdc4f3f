import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

class FieldProblemDto {
  @ApiProperty({ example: 'email' })
  field!: string;

  @ApiProperty({ type: [String], example: ['email must be an email'] })
  messages!: string[];
}

/** Swagger schema of every REST error (see `ErrorBody`). */
export class ErrorResponseDto {
  @ApiProperty({ example: 400 })
  statusCode!: number;

  @ApiProperty({
    description: 'Stable error code (docs/app-developers.md, "Error codes").',
    example: 'VALIDATION_FAILED',
  })
  error!: string;

  @ApiProperty({ example: 'The request is invalid.' })
  message!: string;

  @ApiPropertyOptional({ type: [FieldProblemDto], description: 'Per-field messages (400 only).' })
  details?: FieldProblemDto[];

  @ApiPropertyOptional({ description: 'Request id to quote to an operator (5xx only).' })
  requestId?: string;
}
