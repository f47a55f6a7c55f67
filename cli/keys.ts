import { Option, type Command } from 'commander';
import type { ApiKeyView } from '../access/key-store';
import { ROLES } from '../access/permissions';
import { AdminClient, type ServerOptions } from './client';
import { CliError, table, type CliIo } from './io';

interface KeyAnswer {
  key: ApiKeyView;
  secret?: string;
}

/**
 * `touchpoint keys list|create|rotate|revoke` (docs/access.md), through a running server's key API
 * with a key whose role may manage keys (admin). A new secret is printed once: the server keeps
 * only its hash.
 */
export function registerKeysCommands(program: Command, io: CliIo): void {
  const keys = program.command('keys').description('API keys and their roles: list, create, rotate, revoke');
  const withServer = (cmd: Command) =>
    cmd
      .option('--url <url>', 'server URL (default: TOUCHPOINT_URL or http://localhost:$PORT, 3000)')
      .option('--key <key>', 'an admin key (default: TOUCHPOINT_ADMIN_KEY)')
      .option('--json', 'print the server’s answer as JSON');
  const print = (opts: { json?: boolean }, answer: unknown, text: () => string) =>
    io.out(opts.json ? `${JSON.stringify(answer, null, 2)}\n` : text());

  withServer(keys.command('list').description('every key: id, name, role, status, expiry')).action(
    async (opts: ServerOptions & { json?: boolean }) => {
      const answer = await new AdminClient(io, opts).get<{ keys: ApiKeyView[] }>('/v1/keys');
      print(opts, answer, () => {
        const rows = answer.keys.map((k) => [
          k.id,
          k.role,
          k.status,
          k.expiresAt ?? '-',
          k.previousSecretValidUntil ? `old secret until ${k.previousSecretValidUntil}` : '',
          k.name,
        ]);
        if (rows.length === 0) return '(no keys besides the bootstrap keys)\n';
        return table([['ID', 'ROLE', 'STATUS', 'EXPIRES', 'ROTATION', 'NAME'], ...rows]);
      });
    },
  );

  withServer(
    keys
      .command('create')
      .description('a new key for a person or system; its secret is printed once')
      .requiredOption('--name <name>', 'who holds it (recorded as who acts)')
      .addOption(new Option('--role <role>', 'what it may do').choices(ROLES).makeOptionMandatory())
      .option('--expires-at <time>', 'ISO-8601 time it stops working (default: never)'),
  ).action(
    async (opts: ServerOptions & { json?: boolean; name: string; role: string; expiresAt?: string }) => {
      const answer = await new AdminClient(io, opts).post<KeyAnswer>('/v1/keys', {
        name: opts.name,
        role: opts.role,
        ...(opts.expiresAt ? { expiresAt: opts.expiresAt } : {}),
      });
      print(opts, answer, () =>
        secretText(`created ${answer.key.id} (${answer.key.role}) for ${answer.key.name}`, answer),
      );
    },
  );

  withServer(
    keys
      .command('rotate')
      .description('a new secret for a key; the old one keeps working for the grace period')
      .argument('<id>', 'key id (k_…)')
      .option('--grace <seconds>', 'how long the old secret keeps working, in seconds', '86400'),
  ).action(async (id: string, opts: ServerOptions & { json?: boolean; grace: string }) => {
    const grace = Number(opts.grace);
    if (!/^\d{1,7}$/.test(opts.grace) || !Number.isInteger(grace))
      throw new CliError('--grace: expected a whole number of seconds (0: the old secret stops now)');
    const answer = await new AdminClient(io, opts).post<KeyAnswer>(
      `/v1/keys/${encodeURIComponent(id)}/rotate`,
      { graceSeconds: grace },
    );
    const until = answer.key.previousSecretValidUntil;
    print(opts, answer, () =>
      secretText(
        `rotated ${answer.key.id}; ${until ? `the old secret works until ${until}` : 'the old secret stopped working'}`,
        answer,
      ),
    );
  });

  withServer(
    keys
      .command('revoke')
      .description('stop a key now (every secret of it, and the console sessions made with it)')
      .argument('<id>', 'key id (k_…)')
      .requiredOption('--reason <text>', 'why (required), kept in the audit log'),
  ).action(async (id: string, opts: ServerOptions & { json?: boolean; reason: string }) => {
    const answer = await new AdminClient(io, opts).delete<KeyAnswer>(`/v1/keys/${encodeURIComponent(id)}`, {
      reason: opts.reason,
    });
    print(opts, answer, () => `revoked ${answer.key.id} (${answer.key.name}) at ${answer.key.revokedAt}\n`);
  });
}

function secretText(headline: string, answer: KeyAnswer): string {
  return `${headline}\nsecret (shown only now; the server keeps only its hash):\n  ${answer.secret}\n`;
}
