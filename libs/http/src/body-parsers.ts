import type { Server } from 'node:http';
import { parse as parseForm } from 'node:querystring';

import { BadRequestException, UnsupportedMediaTypeException } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ValidationFailedError } from '@gatehouse/identity';

import { SEND_JSON_MESSAGE } from './error-body.js';
import { jsonShapeProblem } from './json-body-shape.js';

/**
 * The two body types the apps read. JSON is checked for depth and array length before it is parsed;
 * forms are parsed only on routes marked `@AcceptsFormBody()` and answered 415 elsewhere. Registered
 * before `app.init()`, so they replace Nest's default parsers.
 */
export function useBodyParsers(app: NestFastifyApplication, bodyLimit: number): void {
  const parseJson = app.getHttpAdapter().getInstance().getDefaultJsonParser('error', 'error');
  app.useBodyParser<Server>('application/json', { bodyLimit }, (request, body, done) => {
    const problem = jsonShapeProblem(body);
    if (problem) {
      done(new ValidationFailedError([{ field: 'body', messages: [problem] }], problem), undefined);
      return;
    }
    void parseJson(request, body.toString('utf8'), done);
  });
  app.useBodyParser<Server>(
    'application/x-www-form-urlencoded',
    { bodyLimit },
    (request, body, done) => {
      // An unknown route stays a 404, whatever its body.
      if (!request.is404 && request.routeOptions.config.acceptsFormBody !== true) {
        done(
          new UnsupportedMediaTypeException({
            error: 'UNSUPPORTED_MEDIA_TYPE',
            message: SEND_JSON_MESSAGE,
          }),
          undefined,
        );
        return;
      }
      // A null-prototype object, like Nest's parser; "__proto__" is refused as Fastify does for JSON.
      const fields = parseForm(body.toString('utf8'));
      if (Object.hasOwn(fields, '__proto__')) {
        done(new BadRequestException('Object contains forbidden prototype property'), undefined);
        return;
      }
      done(null, fields);
    },
  );
}
