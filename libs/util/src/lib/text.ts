/**
 * The one rule for the characters a text field may hold, used by the domains' validation, the
 * HTTP handlers and the ledger's query parameters alike.
 *
 * - Ids and one-line text (names, addresses, reasons, references, carriers, tracking numbers, skus,
 *   `q`, `initiatedBy`, …) hold no control character: C0 (U+0000–U+001F, tab and newline
 *   included), DEL (U+007F) and C1 (U+0080–U+009F). A NUL or an ESC in an order id is never data:
 *   it is a mistake or an attack on whatever prints, logs or stores it next.
 * - Multi-line text may also hold newline (U+000A) and tab (U+0009); no field is multi-line today.
 * - No string holds a lone surrogate (U+D800–U+DFFF without its pair): it is not Unicode, and
 *   UTF-8 (Avro, Redis, every answer) would silently turn it into U+FFFD.
 *
 * Everything else of Unicode is kept exactly, format characters (U+202E) and emoji included.
 */

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export type TextKind = 'one-line' | 'multi-line';

export const CONTROL_CHARACTERS_MESSAGE = 'must not contain control characters (U+0000–U+001F, U+007F–U+009F)';
export const CONTROL_CHARACTERS_MULTI_LINE_MESSAGE = 'must not contain control characters other than newline and tab (U+0000–U+001F, U+007F–U+009F)';
export const LONE_SURROGATE_MESSAGE = 'must be valid Unicode (it holds a lone surrogate, U+D800–U+DFFF without its pair)';

/** True when `value` holds a lone surrogate. */
export function hasLoneSurrogate(value: string): boolean {
  return LONE_SURROGATE.test(value);
}

/** True when `value` holds a character the kind of field refuses (see above). */
export function hasControlCharacter(value: string, kind: TextKind = 'one-line'): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c <= 0x1f || (c >= 0x7f && c <= 0x9f)) {
      if (kind === 'multi-line' && (c === 0x0a || c === 0x09)) continue;
      return true;
    }
  }
  return false;
}

/**
 * What is wrong with the characters of `value` as an id or a text field of this kind, as a field
 * error message (`undefined` when nothing is). Length, blankness and patterns are each field's own.
 */
export function textCharacterProblem(value: string, kind: TextKind = 'one-line'): string | undefined {
  if (hasLoneSurrogate(value)) return LONE_SURROGATE_MESSAGE;
  if (hasControlCharacter(value, kind)) return kind === 'one-line' ? CONTROL_CHARACTERS_MESSAGE : CONTROL_CHARACTERS_MULTI_LINE_MESSAGE;
  return undefined;
}

/**
 * Every string anywhere in `value` (object fields and list items, to `maxDepth`) whose characters
 * the rule refuses, as `{ field, message }` with the path (`a.b`, `lines[0].sku`). For bodies that
 * hold only ids and one-line text.
 */
export function textCharacterErrors(value: unknown, path = '', kind: TextKind = 'one-line', maxDepth = 8): Array<{ field: string; message: string }> {
  if (typeof value === 'string') {
    const problem = textCharacterProblem(value, kind);
    return problem ? [{ field: path || '(body)', message: problem }] : [];
  }
  if (typeof value !== 'object' || value === null || maxDepth <= 0) return [];
  if (Array.isArray(value)) return value.flatMap((item, i) => textCharacterErrors(item, `${path}[${i}]`, kind, maxDepth - 1));
  return Object.entries(value).flatMap(([name, item]) => textCharacterErrors(item, path ? `${path}.${name}` : name, kind, maxDepth - 1));
}
