// `integrity: 'sha256-<base64>'` (the Subresource Integrity form) for model downloads: the
// bytes are hashed as they stream and compared before the model is built.

import { IntegrityError, InvalidArgumentError } from './errors.js';
import { Sha256, base64 } from './sha256.js';

export class Integrity {
  readonly expected: string;
  private readonly hash = new Sha256();

  constructor(readonly text: string) {
    const m = /^sha256-([A-Za-z0-9+/]{43}=)$/.exec(text.trim());
    if (!m) {
      throw new InvalidArgumentError(
        `integrity ${JSON.stringify(text)}: expected "sha256-" and the base64 of a 32-byte SHA-256 digest`,
      );
    }
    this.expected = m[1]!;
  }

  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
  }

  /** Throws IntegrityError when the bytes seen do not hash to the expected digest. */
  check(what: string): void {
    const got = base64(this.hash.digest());
    if (got !== this.expected) {
      throw new IntegrityError(`${what}: the file's SHA-256 is sha256-${got}, but integrity asks for sha256-${this.expected}`);
    }
  }
}
