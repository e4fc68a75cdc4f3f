import 'reflect-metadata';

import { createNotesApi } from './notes-api.factory.js';
import { loadNotesApiConfig } from './notes-api.config.js';

const config = loadNotesApiConfig(process.env);
const app = await createNotesApi(config);
app.enableShutdownHooks();
await app.listen(config.port, config.host);
process.stdout.write(
  `notes-api listening on http://${config.host}:${config.port} (Swagger UI: /docs)\n`,
);
