import { formatReadToken, parseReadToken, SHIPMENT_ID_PATTERN } from './read-token';

describe('read tokens', () => {
  it('round-trips every shipment id shipment-handler accepts', () => {
    for (const shipmentId of ['1345693', 'SHP-0A1B2C3D4E', 'a.b_c-d', 'x'.repeat(64)]) {
      expect(SHIPMENT_ID_PATTERN.test(shipmentId)).toBe(true);
      for (const version of [0, 1, 42, 999_999_999_999_999]) {
        expect(parseReadToken(formatReadToken({ shipmentId, version }))).toEqual({ token: { shipmentId, version } });
      }
    }
  });

  it('reads the form shipment-handler hands out', () => {
    expect(parseReadToken('SHP-42@7')).toEqual({ token: { shipmentId: 'SHP-42', version: 7 } });
    expect(parseReadToken('SHP-42@0')).toEqual({ token: { shipmentId: 'SHP-42', version: 0 } });
  });

  it.each([
    ['', /not <shipmentId>@<version>/],
    ['SHP-42', /not <shipmentId>@<version>/],
    ['SHP-42:7', /not <shipmentId>@<version>/],
    ['@7', /"" is not a shipment id/],
    ['-SHP@7', /"-SHP" is not a shipment id/],
    ['SHP 42@7', /is not a shipment id/],
    ['a@b@7', /"a@b" is not a shipment id/],
    [`${'x'.repeat(65)}@7`, /is not a shipment id/],
    ['SHP-42@', /"" is not a version/],
    ['SHP-42@-1', /"-1" is not a version/],
    ['SHP-42@1.5', /is not a version/],
    ['SHP-42@07', /"07" is not a version/],
    ['SHP-42@1e3', /is not a version/],
    ['SHP-42@1234567890123456', /is not a version/],
    ['SHP-42@ 7', /is not a version/],
  ])('refuses %j, saying why', (text, why) => {
    const parsed = parseReadToken(text);
    expect(parsed).not.toHaveProperty('token');
    expect('problem' in parsed && parsed.problem).toMatch(why);
  });
});
