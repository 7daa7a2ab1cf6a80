/** Longest text any command field may hold (ids, names, addresses, reasons; the admin page's reason box holds 500). */
const MAX_TEXT_LENGTH = 500;
/** Most lines one shipment may have. */
const MAX_LIST_LENGTH = 500;
/** Command data is at most this deep (a shipment's `lines[i].sku` is 2); deeper values are left to the type checks. */
const MAX_DEPTH = 6;

/**
 * Sizes the domain's rules leave open: every string at most `MAX_TEXT_LENGTH` characters, every
 * list at most `MAX_LIST_LENGTH` items. Without them a 1 MB address or 20 000 lines would become
 * an event every projection and page has to carry for good.
 */
export function sizeErrors(value: unknown, path: string, depth = 0): Array<{ field: string; message: string }> {
  if (typeof value === 'string') {
    return value.length > MAX_TEXT_LENGTH ? [{ field: path || '(body)', message: `must be at most ${MAX_TEXT_LENGTH} characters` }] : [];
  }
  if (typeof value !== 'object' || value === null || depth >= MAX_DEPTH) return [];
  if (Array.isArray(value)) {
    if (value.length > MAX_LIST_LENGTH) return [{ field: path || '(body)', message: `must have at most ${MAX_LIST_LENGTH} items` }];
    return value.flatMap((item, i) => sizeErrors(item, `${path}[${i}]`, depth + 1));
  }
  return Object.entries(value).flatMap(([name, item]) => sizeErrors(item, path ? `${path}.${name}` : name, depth + 1));
}
