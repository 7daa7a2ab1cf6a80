import type { Decider } from '@waybill/util';
import type { ShipmentCommand } from './commands';
import { decide } from './decide';
import type { Rejection } from './errors';
import type { ShipmentEvent } from './events';
import { evolve } from './evolve';
import { initialState, type ShipmentState } from './state';

/** The shipment decider for `replay`, `deciderSpec` and the reducer loop. */
export const shipmentDecider: Decider<ShipmentState, ShipmentCommand, ShipmentEvent, Rejection> = {
  decide,
  evolve,
  initialState,
};
