/** The Redis keys of the audit log, under the installation's key prefix. */
export class AuditKeys {
  constructor(readonly prefix: string) {}

  /** Hash: seq → the entry's JSON. Written once per seq, never updated by the code. */
  entries(): string {
    return `${this.prefix}:audit:entries`;
  }

  /** Hash {seq, hash}: the last entry appended; every append moves it in the same script. */
  head(): string {
    return `${this.prefix}:audit:head`;
  }

  /** Hash: template path → SHA-256 of the file at the last start (audit-log/startup-changes.ts). */
  templateHashes(): string {
    return `${this.prefix}:audit:template-hashes`;
  }
}
