/**
 * What a shipment id may be: 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or
 * digit. shipment-handler refuses any other id, so none holds the "@" a read token splits on.
 */
export const SHIPMENT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Versions are counted in JSON numbers: at most 15 digits stay exact, and no leading zeros. */
const VERSION_PATTERN = /^(?:0|[1-9]\d{0,14})$/;

/**
 * What a read needs to see a write: the shipment it changed and the version the write left it at
 * (for a refused command, the version it found). A read of that shipment is fresh enough once
 * the read model holds at least that version.
 */
export interface ReadToken {
  shipmentId: string;
  version: number;
}

/** `<shipmentId>@<version>`, the form shipment-handler hands out and the ledger accepts. */
export function formatReadToken(token: ReadToken): string {
  return `${token.shipmentId}@${token.version}`;
}

/** The token in `text`, or why it is not one. */
export function parseReadToken(text: string): { token: ReadToken } | { problem: string } {
  const at = text.lastIndexOf('@');
  if (at < 0) return { problem: `"${text}" is not <shipmentId>@<version>` };
  const shipmentId = text.slice(0, at);
  const version = text.slice(at + 1);
  if (!SHIPMENT_ID_PATTERN.test(shipmentId)) return { problem: `"${shipmentId}" is not a shipment id (1 to 64 letters, digits, ".", "_" or "-")` };
  if (!VERSION_PATTERN.test(version)) return { problem: `"${version}" is not a version (a whole number, 0 or more, without leading zeros)` };
  return { token: { shipmentId, version: Number(version) } };
}
