/** Exit codes: 0 success, 1 a failed call or an error from the cluster, 2 a usage error. */
export const Exit = { OK: 0, FAILED: 1, USAGE: 2 } as const;

/** An error the CLI prints as one clear line (no stack) before exiting with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = Exit.FAILED,
    options: { cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
  }
}

export const usage = (message: string): CliError => new CliError(message, Exit.USAGE);
