// An instant names its offset (Z or ±hh:mm): a bare local time means different instants to
// different readers, and `Date.parse` alone takes "1" for 2001-01-01.
const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|([+-])(\d{2}):(\d{2}))$/;

const daysIn = (year: number, month: number): number => new Date(Date.UTC(year, month, 0)).getUTCDate();

/**
 * An ISO-8601 instant with a zone (`2025-03-01T10:00:00Z`, `2025-03-01T11:00:00+01:00`) as epoch
 * milliseconds, or undefined when the text is no such instant. A calendar that does not exist
 * (February 30, hour 24, minute 60, an offset past ±23:59) is no instant: `Date.parse` would roll
 * it over to another day.
 */
export function parseInstant(text: string): number | undefined {
  const match = ISO_INSTANT.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second = 0, , offsetHours = 0, offsetMinutes = 0] = match.slice(1).map((part) => (part === undefined || part === '+' || part === '-' ? undefined : Number(part))) as number[];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
}
