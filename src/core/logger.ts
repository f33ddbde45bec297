/**
 * The logger sluice writes to: narrow, injected, structured. The default writes one JSON object
 * per line (what CloudWatch, Vercel and most log pipelines parse without configuration).
 */
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

type Level = keyof Logger;
const LEVELS: readonly Level[] = ['debug', 'info', 'warn', 'error'];

/** A logger that writes JSON lines through `console`, dropping levels below `minLevel`. */
export function jsonLogger(minLevel: Level = 'info'): Logger {
  const threshold = LEVELS.indexOf(minLevel);
  const write = (level: Level) => (message: string, fields?: LogFields) => {
    if (LEVELS.indexOf(level) < threshold) return;
    const line = JSON.stringify({ level, time: new Date().toISOString(), message, ...fields });
    if (level === 'error') console.error(line);
    else if (level === 'warn') console.warn(line);
    else console.info(line);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

/** A logger that drops everything (tests, embedding). */
export const silentLogger: Logger = Object.freeze({ debug() {}, info() {}, warn() {}, error() {} });
