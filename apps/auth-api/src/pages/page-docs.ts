import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiQuery, ApiResponse } from '@nestjs/swagger';

/** A browser endpoint's parameter, documented once for its query string and its form body. */
export interface PageParameter {
  readonly name: string;
  readonly description: string;
  readonly required?: boolean;
  /** RFC 8707 `resource` may be repeated. */
  readonly repeated?: boolean;
}

const HTML = { 'text/html': { schema: { type: 'string' } } };

/**
 * Swagger for an endpoint a browser navigates to: it answers HTML pages (`status → description`)
 * and, when `redirect` says when, 303 redirects; never JSON, so the generated "200" placeholder would
 * say nothing.
 */
export function ApiPageResponses(
  pages: Readonly<Record<number, string>>,
  redirect?: string,
): MethodDecorator {
  const responses = Object.entries(pages).map(([status, description]) =>
    ApiResponse({ status: Number(status), description, content: HTML }),
  );
  if (redirect !== undefined) {
    responses.push(
      ApiResponse({
        status: 303,
        description: redirect,
        headers: { Location: { schema: { type: 'string' } } },
      }),
    );
  }
  return applyDecorators(...responses);
}

export function ApiPageQuery(parameters: readonly PageParameter[]): MethodDecorator {
  return applyDecorators(
    ...parameters.map(({ name, description, required = false, repeated = false }) =>
      ApiQuery({ name, description, required, type: String, isArray: repeated }),
    ),
  );
}

/** The same parameters as a form (or JSON) body; `@AcceptsFormBody()` lists both media types. */
export function ApiPageForm(parameters: readonly PageParameter[]): MethodDecorator {
  const required = parameters.filter((parameter) => parameter.required).map(({ name }) => name);
  return ApiBody({
    required: false,
    schema: {
      type: 'object',
      properties: Object.fromEntries(
        parameters.map(({ name, description }) => [name, { type: 'string', description }]),
      ),
      ...(required.length > 0 ? { required } : {}),
    },
  });
}
