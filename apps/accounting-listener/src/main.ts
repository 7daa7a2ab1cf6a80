import { runApp } from '@waybill/platform';
import { configSchema } from './config';
import { start } from './wiring';

runApp('accounting-listener', configSchema, start, { redis: false });
