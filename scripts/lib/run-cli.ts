import { StreamragError } from '../../src/core/errors.ts';

/** Thrown for a wrong command line; printed with the usage text, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * Runs a command-line main function: expected failures (bad usage, bad configuration, a
 * refused database) print one clear line instead of a stack trace.
 */
export async function runCli(usage: string, main: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await main();
  } catch (error) {
    if (
      error instanceof UsageError ||
      (error instanceof TypeError &&
        'code' in error &&
        String(error.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      console.error(`${error.message}\n\n${usage}`);
      process.exitCode = 2;
    } else if (error instanceof StreamragError) {
      console.error(`error: ${error.message}`);
      process.exitCode =
        error.code === 'invalid_config' || error.code === 'invalid_request' ? 2 : 1;
    } else {
      // Unexpected: one line for the user; the stack with DEBUG=1.
      console.error(
        process.env.DEBUG ? error : `error: ${(error as Error)?.message ?? String(error)}`,
      );
      process.exitCode = 1;
    }
  }
}
