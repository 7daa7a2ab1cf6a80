import type { Server } from 'node:http';
import { TOPICS, type CommandOutcome } from '@waybill/contracts';
import { serveHandler } from '@waybill/command-gateway';
import type { Logger, ShutdownStep } from '@waybill/platform';
import { CommandService, type PendingShipmentCommand, type ShipmentClaim } from './command-service';
import type { Config } from './config';
import { openApiDocument } from './http/openapi';
import { observationRoutes } from './http/observation-routes';
import { shipmentRoutes } from './http/routes';
import { ObservationService } from './observation-service';

/** Connects everything shipment-handler needs and starts serving; returns the steps to stop it. */
export async function start(config: Config, logger: Logger, onCrash: (err: Error) => void): Promise<{ server: Server; shutdown: ShutdownStep[] }> {
  return serveHandler<CommandOutcome, ShipmentClaim, PendingShipmentCommand>({
    app: 'shipment-handler',
    config,
    outcomesTopic: TOPICS.shipmentOutcomes,
    answer: (decoded) => (decoded.recordName === 'CommandOutcome' ? { commandId: decoded.value.commandId, outcome: decoded.value } : undefined),
    routes: ({ handler, serde, topics }) => [
      shipmentRoutes(new CommandService({ producer: handler.producer, commandsTopic: topics.shipmentCommands, serde, gateway: handler.gateway, logger })),
      observationRoutes(new ObservationService({ producer: handler.producer, observationsTopic: topics.shipmentObservations, serde, gateway: handler.gateway, logger })),
    ],
    openApi: openApiDocument(),
    onCrash,
    logger,
  });
}
