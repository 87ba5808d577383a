/**
 * Library code never writes to stdout: it reports through a Logger that the CLI supplies.
 * The default logger writes to stderr so machine-readable stdout (--json) stays clean.
 */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

export const stderrLogger: Logger = {
  info: (m) => process.stderr.write(`${m}\n`),
  warn: (m) => process.stderr.write(`warning: ${m}\n`),
};

export const silentLogger: Logger = {
  info: () => {},
  warn: () => {},
};
