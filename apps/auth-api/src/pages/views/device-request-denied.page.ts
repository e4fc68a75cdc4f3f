import type { Page } from '../html.js';

export function deviceRequestDeniedPage(): Page {
  return {
    title: 'Request denied',
    main: '<p role="status">The device was not signed in. You can close this page.</p>',
  };
}
