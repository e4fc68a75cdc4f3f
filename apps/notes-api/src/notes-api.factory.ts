import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

import type { NotesApiConfig } from './notes-api.config.js';
import { NotesApiModule } from './notes-api.module.js';

/** Shared by main.ts and the tests (which also mount NotesApiModule on Express). */
export async function createNotesApi(config: NotesApiConfig): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    NotesApiModule.forRoot(config),
    new FastifyAdapter(),
    { logger: ['error', 'warn'] },
  );
  const document = new DocumentBuilder()
    .setTitle('notes-api (Gatehouse example sibling app)')
    .addBearerAuth()
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, document));
  return app;
}
