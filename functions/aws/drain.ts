/**
 * Scheduled drain (EventBridge) over ioredis: one bounded cycle per invocation. The schedule's
 * input may override `topic`, `group` and `budgetMs`. Configuration: the README's table.
 */
import { loadConfig } from '../../src/index.js';
import { ioredisFromConfig } from '../drivers/ioredis.js';
import { drainFunction } from './wiring.js';

const config = loadConfig(process.env);

export const handler = drainFunction(ioredisFromConfig(config), config);
