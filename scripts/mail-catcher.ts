import { loadConfigOrExit } from '@gatehouse/http';

import { MailCatcher } from './mail-catcher/mail-catcher.js';

/**
 * `node dist/mail-catcher.js`: the development mail catcher on its own (docker-compose's
 * `mail-catcher` service). `npm start` runs the same catcher in its own process.
 */
const config = loadConfigOrExit();
const catcher = new MailCatcher({
  host: config.host,
  port: config.mail.catcher.port,
  smtpPort: config.mail.catcher.smtpPort,
});
await catcher.start();
process.stdout.write(
  `Mail catcher: SMTP on ${config.host}:${config.mail.catcher.smtpPort}, page on http://${config.host}:${config.mail.catcher.port}\n`,
);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void catcher.stop().then(() => process.exit(0)));
}
