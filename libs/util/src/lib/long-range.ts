// NOTE: avsc zig-zags longs with float arithmetic, so a long below -2^52 comes back with its sign
// flipped and no error. Waybill longs are therefore limited to a range that survives the trip: the
// wire contracts check it, and the domains keep amounts within it before anything is encoded.

/** The smallest long Waybill writes or reads. */
export const MIN_LONG = -(2 ** 52);
/** The largest long Waybill writes or reads. */
export const MAX_LONG = 2 ** 52 - 1;
