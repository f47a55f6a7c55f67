/** A field of a lifecycle request that is wrong, at its path (`mapping.wait-1`, `to`). */
export interface FieldIssue {
  path: string;
  message: string;
}

/**
 * A lifecycle request the registry refuses, with nothing changed: `not_found` (no such journey
 * or version), `conflict` (not allowed in the journey's current status), `invalid` (bad fields).
 */
export class RegistryError extends Error {
  override name = 'RegistryError';

  constructor(
    readonly kind: 'not_found' | 'conflict' | 'invalid',
    message: string,
    readonly issues: FieldIssue[] = [],
  ) {
    super(message);
  }
}
