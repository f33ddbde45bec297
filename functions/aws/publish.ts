/** HTTP publish (API Gateway HTTP API) over ioredis: POST /topics/{topic}/messages. */

import { loadEndpointConfig } from '../../src/http/index.js';
import { ioredisFromConfig } from '../drivers/ioredis.js';
import { coldStart, publishFunction } from './wiring.js';

export const handler = coldStart(loadEndpointConfig, (config) =>
  publishFunction(ioredisFromConfig(config), config),
);
