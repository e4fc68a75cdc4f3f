import { escapeHtml, type Page } from '../html.js';

export interface DeviceConnectedView {
  readonly clientName: string;
}

export function deviceConnectedPage({ clientName }: DeviceConnectedView): Page {
  return {
    title: 'Device connected',
    main: `<p role="status"><strong>${escapeHtml(clientName)}</strong> is now signed in on your device. You can close this page and go back to it.</p>`,
  };
}
