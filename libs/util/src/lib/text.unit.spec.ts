import { hasControlCharacter, hasLoneSurrogate, textCharacterErrors, textCharacterProblem } from './text';

describe('the text character rule', () => {
  it.each(['\u0000', '\u0007', '\u0008', '\t', '\n', '\r', '\u001b', '\u001f', '\u007f', '\u0080', '\u009b', '\u009f'])('refuses control character %j in one-line text', (c) => {
    expect(textCharacterProblem(`ORD${c}1`)).toMatch(/control characters/);
    expect(hasControlCharacter(c)).toBe(true);
  });

  it('allows newline and tab, and only those, in multi-line text', () => {
    expect(textCharacterProblem('line one\n\tline two', 'multi-line')).toBeUndefined();
    for (const c of ['\u0000', '\r', '\u001b', '\u007f', '\u0085']) expect(textCharacterProblem(`a${c}b`, 'multi-line')).toMatch(/other than newline and tab/);
  });

  it.each(['\ud800', '\udfff', 'a\udc00b', 'x\ud83d', '\ude00x'])('refuses the lone surrogate in %j', (s) => {
    expect(hasLoneSurrogate(s)).toBe(true);
    expect(textCharacterProblem(s)).toMatch(/lone surrogate/);
    expect(textCharacterProblem(s, 'multi-line')).toMatch(/lone surrogate/);
  });

  it.each(['ORD-1', 'Zoë 山田 🚚', 'Straße 1 \u202ex', '۱۲۳', '\u00a0', '\u00a0\u3000', ' ', 'a\u200bb', '😀'])('keeps %j exactly', (s) => {
    expect(textCharacterProblem(s)).toBeUndefined();
    expect(hasLoneSurrogate(s)).toBe(false);
  });

  it('names every bad string in a body by its path', () => {
    expect(textCharacterErrors({ orderId: 'a\u0000', lines: [{ sku: 'ok' }, { sku: '\ud800' }], destination: { name: 'x\u001b[2J' }, n: 5 })).toEqual([
      { field: 'orderId', message: expect.stringMatching(/control/) },
      { field: 'lines[1].sku', message: expect.stringMatching(/surrogate/) },
      { field: 'destination.name', message: expect.stringMatching(/control/) },
    ]);
    expect(textCharacterErrors('\u0000')).toEqual([{ field: '(body)', message: expect.any(String) }]);
    expect(textCharacterErrors({ fine: 'yes', list: ['a', 'b'] })).toEqual([]);
  });
});
