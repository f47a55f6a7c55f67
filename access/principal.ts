import type { Role } from './permissions';

/** Who a request acts as: the API key it presented (or the console session made with one). */
export interface Principal {
  /** The key's id (never its secret): `bootstrap-admin`, `bootstrap-write`, or `k_…` from the key store. */
  keyId: string;
  /** Names the person or system holding the key; recorded as "who" in histories and the audit log. */
  name: string;
  role: Role;
}

/** Finds the principal a presented key belongs to; undefined for an unknown, revoked or expired key. */
export interface KeyResolver {
  resolve(presentedKey: string): Promise<Principal | undefined>;
  /**
   * The principal of a key by its id, undefined when unknown, revoked or expired. Console sessions
   * hold the key's id, never its secret, and are checked this way on every request.
   */
  byId(keyId: string): Promise<Principal | undefined>;
}
