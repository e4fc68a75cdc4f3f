import { expect, vi } from 'vitest';

import type { SmtpInbox } from './smtp-inbox.js';

/** Long enough for a slow CI machine: the request job, then the mail job, then SMTP. */
export const MAIL_ARRIVAL = { timeout: 20_000, interval: 100 };

const RESET_LINK = /(https?:\/\/\S+\/reset-password\?token=([A-Za-z0-9_-]+))/;

export interface ResetLink {
  readonly url: string;
  readonly token: string;
}

/** The reset links mailed to `email` so far, oldest first (from the text part of each mail). */
export function resetLinksTo(inbox: SmtpInbox, email: string): ResetLink[] {
  return inbox
    .to(email)
    .filter((message) => message.subject?.startsWith('Reset your'))
    .map((message) => {
      const match = RESET_LINK.exec(message.text ?? '');
      expect(match, `a reset link in "${message.subject ?? ''}"`).not.toBeNull();
      return { url: match![1]!, token: match![2]! };
    });
}

/** Waits for the `count`-th reset mail to `email` and answers its link. */
export async function waitForResetLink(
  inbox: SmtpInbox,
  email: string,
  count = 1,
): Promise<ResetLink> {
  await vi.waitFor(() => expect(resetLinksTo(inbox, email)).toHaveLength(count), MAIL_ARRIVAL);
  return resetLinksTo(inbox, email)[count - 1]!;
}
