/** A CLI failure with a stable code and a message that says what to do next. */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
