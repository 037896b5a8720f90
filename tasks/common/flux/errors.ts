/**
 * An error in the user's manifests (or in what they asked us to do with them): the message names
 * the file and says how to fix it. The task turns it into a failed result; nothing was written.
 */
import { UserError } from '../errors';

export class ManifestError extends UserError {
  /** The file (relative to the working directory) the problem is in, when there is one. */
  readonly file: string | undefined;
  constructor(message: string, file?: string, code = 'ManifestError') {
    super(message, { code });
    this.file = file;
  }
}
