import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

export interface ApiDescription {
  readonly title: string;
  readonly description: string;
}

/** Security scheme names used by `@ApiSecurity`/`@ApiCookieAuth`/`@ApiBearerAuth` across the apps. */
export const COOKIE_SCHEME = 'cookie';
export const BEARER_SCHEME = 'bearer';

export function buildOpenApiDocument(
  app: INestApplication,
  api: ApiDescription,
  cookieName = 'gh_session',
): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle(api.title)
    .setDescription(api.description)
    .setVersion('0.1.0')
    .addCookieAuth(
      cookieName,
      {
        type: 'apiKey',
        in: 'cookie',
        name: cookieName,
        description:
          'Session cookie set by `POST /auth/login`. Writes must come from a trusted Origin (CSRF).',
      },
      COOKIE_SCHEME,
    )
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, BEARER_SCHEME)
    .build();
  return SwaggerModule.createDocument(app, config);
}

/** Swagger UI at /docs, the OpenAPI JSON at /docs-json. */
export function setUpSwagger(app: INestApplication, api: ApiDescription, cookieName: string): void {
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app, api, cookieName), {
    jsonDocumentUrl: 'docs-json',
    yamlDocumentUrl: 'docs-yaml',
  });
}
