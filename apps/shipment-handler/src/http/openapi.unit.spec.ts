import { openApiMismatches } from '@waybill/platform';
import type { CommandService } from '../command-service';
import { openApiDocument } from './openapi';
import { shipmentRoutes } from './routes';

describe('shipment-handler’s OpenAPI document', () => {
  it('documents exactly the routes it serves (beside the platform’s), each with the path parameters its path names', () => {
    // Routes are only registered here, never called, so the service can stay empty.
    expect(openApiMismatches(shipmentRoutes({} as CommandService), openApiDocument())).toEqual({ undocumented: [], unrouted: [], pathParameters: [] });
  });
});
