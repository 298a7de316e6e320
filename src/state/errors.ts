/**
 * The one error type of the state layer. Every failure a user can cause (bad value, missing object,
 * stale version, duplicate name, delete of a referenced object) or meet (store unreachable) is a
 * StoreError with a code and a message that names the object, the field, the value and what is allowed;
 * values are shown through `quote` (src/quote.ts), never raw.
 *
 * Invariant: a StoreError is thrown before anything is written; a transaction that throws leaves the
 * store as it was.
 */
export type StoreErrorCode =
  | 'invalid' // a value is malformed or breaks a rule of the model
  | 'not-found' // a referenced or addressed object does not exist
  | 'exists' // a name, binding or id is already taken
  | 'conflict' // the expected version is not the stored one
  | 'referenced' // delete refused: other objects refer to this one
  | 'exhausted' // a pool (a DHCP range) has nothing left to give
  | 'unavailable' // the store cannot be reached or opened
  | 'position-gone'; // a watch asked to resume from a change the log no longer holds

/** One field a refused value was in: what was given and what is allowed (from the model's schemas). */
export interface ErrorIssue {
  /** Dotted field path, e.g. `port.address` or `rule.conditions.dstPort.value`. */
  readonly field: string;
  readonly value?: unknown;
  /** What is allowed, or what is wrong. */
  readonly message: string;
}

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    /** The fields at fault, when the refusal came from validating values (front doors show them). */
    readonly issues?: readonly ErrorIssue[],
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

export function isStoreError(e: unknown): e is StoreError {
  return e instanceof StoreError;
}
