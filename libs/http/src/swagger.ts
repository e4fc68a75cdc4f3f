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
  return documentJsonOnlyBodies(SwaggerModule.createDocument(app, config));
}

const FORM = 'application/x-www-form-urlencoded';

/**
 * The body parsers (`body-parsers.ts`) answer 415 to anything but JSON on every route not marked
 * `@AcceptsFormBody()`: documented here, for every such route at once, so no route can forget it.
 */
function documentJsonOnlyBodies(document: OpenAPIObject): OpenAPIObject {
  const operations = Object.values(document.paths).flatMap((path) =>
    [path.post, path.put, path.patch, path.delete].filter((operation) => operation !== undefined),
  );
  for (const operation of operations) {
    const body = operation.requestBody;
    const content = body && 'content' in body ? body.content : undefined;
    if (content && !(FORM in content) && !operation.responses['415']) {
      operation.responses['415'] = {
        description: '`UNSUPPORTED_MEDIA_TYPE`: the body is not `application/json` (a form, say).',
        content: {
          'application/json': { schema: { $ref: '#/components/schemas/ErrorResponseDto' } },
        },
      };
    }
  }
  return document;
}

/** Swagger UI at /docs, the OpenAPI JSON at /docs-json. */
export function setUpSwagger(app: INestApplication, api: ApiDescription, cookieName: string): void {
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app, api, cookieName), {
    jsonDocumentUrl: 'docs-json',
    yamlDocumentUrl: 'docs-yaml',
  });
}
