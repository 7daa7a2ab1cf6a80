import { openApiMismatches } from '@waybill/platform';
import type { CommandService } from '../command-service';
import { openApiDocument } from './openapi';
import { Router } from 'express';
import type { ObservationService } from '../observation-service';
import { observationRoutes } from './observation-routes';
import { shipmentRoutes } from './routes';

describe('shipment-handler’s OpenAPI document', () => {
  it('documents exactly the routes it serves (beside the platform’s), each with the path parameters its path names', () => {
    // Routes are only registered here, never called, so the service can stay empty.
    const router = Router().use(shipmentRoutes({} as CommandService), observationRoutes({} as ObservationService));
    expect(openApiMismatches(router, openApiDocument())).toEqual({ undocumented: [], unrouted: [], pathParameters: [] });
  });
});
