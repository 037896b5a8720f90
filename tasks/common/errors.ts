/**
 * The error domain code throws when the user can do something about it: a message, the cause in
 * the user's terms, and the fix. runTask prints all three; the report lists them.
 *
 * It lives here (not in pipeline/) because domain modules (azure/, devops/, kube/, flux/) throw it
 * and must not import pipeline/; its cause/fix are what the report shows.
 */
export class UserError extends Error {
  override readonly name: string = 'UserError';
  /** A stable identifier for tests and for mapping (e.g. 'FederatedCredentialBudget'). */
  readonly code: string;
  /** Why it happened, in the user's terms (what was observed). */
  override readonly cause: string | undefined;
  /** What to do about it. */
  readonly fix: string | undefined;
  /** The underlying error, when there is one (kept for debug output, never shown as the message). */
  readonly inner: unknown;

  constructor(message: string, details: { code?: string; cause?: string; fix?: string; inner?: unknown } = {}) {
    super(message);
    this.code = details.code ?? 'UserError';
    this.cause = details.cause;
    this.fix = details.fix;
    this.inner = details.inner;
  }
}

export function isUserError(err: unknown): err is UserError {
  return err instanceof UserError;
}
