/**
 * Scheduled drain (EventBridge) over ioredis: one bounded cycle per invocation. The schedule's
 * input may override `topic`, `group`, `budgetMs` and `idleExitMs` (0: end when caught up).
 * Configuration: the table of docs/configuration.md; a bad one fails each invocation with its message.
 */

import { loadConfig } from '../../src/http/index.js';
import { ioredisFromConfig } from '../drivers/ioredis.js';
import { coldStart, drainFunction } from './wiring.js';

export const handler = coldStart(loadConfig, (config) => drainFunction(ioredisFromConfig(config), config));
