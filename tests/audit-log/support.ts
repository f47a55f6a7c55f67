import type { AuditEntry, AuditLog } from '../../audit-log/types';

/** The entries appended while `action` ran (and its result), to check one request's audit trail. */
export async function appendedDuring<T>(
  log: AuditLog,
  action: () => Promise<T>,
): Promise<{ result: T; entries: AuditEntry[] }> {
  const before = (await log.list({ order: 'desc', limit: 1 })).entries[0]?.seq ?? 0;
  const result = await action();
  return { result, entries: (await log.list({ after: before, limit: 1000 })).entries };
}
