import { z } from 'zod';
import { handlerConfigShape } from '@waybill/command-gateway';

/** shipment-handler's environment; `docker-compose.yml` is checked against this schema. */
export const configSchema = z.object(handlerConfigShape({ port: 3001, bodyLimit: '1mb' }));

export type Config = z.infer<typeof configSchema>;
