/** What one process runs; `all` (the default) runs everything, as the embedded default does. */
export type Role = 'api' | 'journeys' | 'router' | 'delivery';
export const ROLES: readonly Role[] = ['api', 'journeys', 'router', 'delivery'];

/** Roles from `--role a,b` arguments or TOUCHPOINT_ROLES; unknown names are an error. */
export function parseRoles(argv: string[], env: string | undefined): Set<Role> {
  const flag = argv.findIndex((a) => a === '--role' || a.startsWith('--role='));
  const raw = flag >= 0 ? (argv[flag]!.includes('=') ? argv[flag]!.split('=')[1] : argv[flag + 1]) : env;
  const names = (raw ?? 'all')
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  if (names.includes('all')) return new Set(ROLES);
  for (const name of names) {
    if (!ROLES.includes(name as Role))
      throw new Error(`unknown role "${name}": use all or ${ROLES.join(', ')}`);
  }
  return new Set(names as Role[]);
}
