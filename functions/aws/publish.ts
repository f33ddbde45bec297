/** HTTP publish (API Gateway HTTP API) over ioredis: POST /topics/{topic}/messages. */
import { ioredisFromConfig } from '../drivers/ioredis.js';
import { coldStart, publishFunction } from './wiring.js';

export const handler = coldStart((config) => publishFunction(ioredisFromConfig(config), config));
