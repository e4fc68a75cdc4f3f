import { type AddressObject, type ParsedMail, simpleParser } from 'mailparser';
import type { Readable } from 'node:stream';

/** A received mail as the catcher keeps it (in memory: it is a development tool). */
export interface CaughtMail {
  readonly id: number;
  readonly receivedAt: Date;
  readonly from: string;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  /** The HTML part, shown only inside a sandboxed frame. */
  readonly html: string | null;
}

const addresses = (value: AddressObject | AddressObject[] | undefined) =>
  [value ?? []]
    .flat()
    .map((object) => object.text)
    .join(', ');

export async function parseMail(id: number, stream: Readable): Promise<CaughtMail> {
  const parsed: ParsedMail = await simpleParser(stream);
  return {
    id,
    receivedAt: new Date(),
    from: addresses(parsed.from),
    to: addresses(parsed.to),
    subject: parsed.subject ?? '(no subject)',
    text: parsed.text ?? '',
    html: typeof parsed.html === 'string' ? parsed.html : null,
  };
}
