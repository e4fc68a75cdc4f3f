import { escapeHtml, type Page } from '../html.js';

export interface DeviceCodeView {
  readonly problem: string | null;
}

/** The device page's first step (RFC 8628 §3.3): type the code the device shows. */
export function deviceCodePage({ problem }: DeviceCodeView): Page {
  return {
    title: 'Connect a device',
    main: `${problem ? `<p class="error" role="alert">${escapeHtml(problem)}</p>` : ''}
<form method="post" action="/device">
<label for="user_code">Enter the code shown on your device</label>
<input id="user_code" name="user_code" type="text" inputmode="text" autocomplete="off" autocapitalize="characters" spellcheck="false" maxlength="16" placeholder="XXXX-XXXX" required autofocus>
<button type="submit">Continue</button>
</form>`,
  };
}
