import { createHash } from 'node:crypto';

/**
 * A UUID that is a function of `parts` (RFC 9562 version 8, name-derived): the same cause always
 * gets the same id, so a retried request or a re-sent fact is recognised however long ago the
 * first one was.
 */
export function nameDerivedUuid(parts: readonly string[]): string {
  const hex = createHash('sha256').update(JSON.stringify(parts)).digest('hex');
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
