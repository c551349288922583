/**
 * Output of a CLI command: humans get lines, scripts get exactly one JSON document on stdout
 * (`--json`), and failures keep that contract with `{ "error": ... }`.
 */
export interface Output {
  readonly json: boolean;
  /** result prints the command's result: `human` for people, `data` for --json. */
  result(data: unknown, human: string): void;
}

export function createOutput(json: boolean): Output {
  return {
    json,
    result(data, human) {
      process.stdout.write(json ? `${JSON.stringify(data)}\n` : `${human}\n`);
    },
  };
}

/** CliError is a failure whose message is meant for the operator as it is, with an exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** fail reports an error in the command's output mode and sets the exit code. */
export function fail(out: Output, err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  if (out.json) process.stdout.write(`${JSON.stringify({ error: message })}\n`);
  else process.stderr.write(`dify-plugin-daemon: ${message}\n`);
  process.exitCode = err instanceof CliError ? err.exitCode : 1;
}
