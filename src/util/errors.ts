/**
 * Typed errors. Each carries the facts a user needs to fix the input (the file, flag, key or
 * layer) so the CLI can print one clear line instead of a stack trace from deep inside tfjs.
 */
export class PrunebenchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A bad config value, CLI flag or `--set` override. `key` names the flag or config key. */
export class ConfigError extends PrunebenchError {
  constructor(
    message: string,
    readonly key?: string,
  ) {
    super(message);
  }
}

/** A missing, truncated or malformed data file. `file` is the path that was read. */
export class DatasetError extends PrunebenchError {
  constructor(
    message: string,
    readonly file?: string,
  ) {
    super(message);
  }
}

/** An invalid pruning plan (empty layer, index out of range, missing group). */
export class PlanError extends PrunebenchError {
  constructor(
    message: string,
    readonly layer?: string,
  ) {
    super(message);
  }
}

/** A backend that cannot be loaded or is misused. */
export class BackendError extends PrunebenchError {}

/** An unknown model or an invalid architecture spec. */
export class ModelError extends PrunebenchError {}

/** A checkpoint or saved model that cannot be read. */
export class CheckpointError extends PrunebenchError {
  constructor(
    message: string,
    readonly file?: string,
  ) {
    super(message);
  }
}

/** A file-system error in words: "ENOTDIR: not a directory, mkdir '/a/b'" -> "not a directory (ENOTDIR)". */
export function fsErrorReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const reason = String(err?.message ?? e).replace(/^[A-Z]+: /, '').replace(/, [a-z]+( '.*')?$/, '');
  return typeof err?.code === 'string' ? `${reason} (${err.code})` : reason;
}
