/** HTTP publish (API Gateway HTTP API) over ioredis: POST /topics/{topic}/messages. */
import { loadConfig } from '../../src/index.js';
import { ioredisFromConfig } from '../drivers/ioredis.js';
import { publishFunction } from './wiring.js';

const config = loadConfig(process.env);

export const handler = publishFunction(ioredisFromConfig(config), config);
