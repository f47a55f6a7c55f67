import type { Command } from 'commander';
import type { PublishApproval } from '../access/approvals';
import { AdminClient, type ServerOptions } from './client';
import { table, type CliIo } from './io';

type ApprovalView = Omit<PublishApproval, 'requestedByKeyId' | 'source'> & { version?: number };

interface ApproveAnswer {
  approval: ApprovalView;
  published: { id: string; version: number; status: string; created: boolean };
}

/** What `touchpoint publish` prints when the server holds the publish for a second person's approval. */
export function pendingApprovalText(approval: ApprovalView): string {
  return (
    `publish of ${approval.journeyId} awaits approval ${approval.id} (four-eyes): another person ` +
    `with journeys:publish runs \`touchpoint approvals approve ${approval.id}\`\n`
  );
}

/**
 * `touchpoint approvals list|approve|reject` (four-eyes publishing, docs/access.md), through a
 * running server with a key that may publish; the approver must be another person than the
 * requester (the server checks it).
 */
export function registerApprovalsCommands(program: Command, io: CliIo): void {
  const approvals = program
    .command('approvals')
    .description('four-eyes publishing: list requests, approve or reject one');
  const withServer = (cmd: Command) =>
    cmd
      .option('--url <url>', 'server URL (default: TOUCHPOINT_URL or http://localhost:$PORT, 3000)')
      .option('--key <key>', 'a key that may publish (default: TOUCHPOINT_ADMIN_KEY)')
      .option('--json', 'print the server’s answer as JSON');
  const print = (opts: { json?: boolean }, answer: unknown, text: () => string) =>
    io.out(opts.json ? `${JSON.stringify(answer, null, 2)}\n` : text());

  withServer(
    approvals
      .command('list')
      .description('publish requests (default: the pending ones)')
      .option('--status <status>', 'pending, approved or rejected', 'pending'),
  ).action(async (opts: ServerOptions & { json?: boolean; status: string }) => {
    const answer = await new AdminClient(io, opts).get<{ approvals: ApprovalView[] }>(
      `/v1/approvals?status=${encodeURIComponent(opts.status)}`,
    );
    print(opts, answer, () => {
      if (answer.approvals.length === 0) return `(no ${opts.status} approvals)\n`;
      const rows = answer.approvals.map((a) => [
        a.id,
        a.journeyId,
        a.status,
        a.requestedBy,
        a.requestedAt,
        a.sourceSha256.slice(0, 12),
      ]);
      return table([['ID', 'JOURNEY', 'STATUS', 'REQUESTED BY', 'AT', 'SOURCE SHA-256'], ...rows]);
    });
  });

  withServer(
    approvals
      .command('approve')
      .description('approve a publish request: the requested source is published')
      .argument('<id>', 'the approval id (a_…)')
      .option('--note <text>', 'kept with the approval'),
  ).action(async (id: string, opts: ServerOptions & { json?: boolean; note?: string }) => {
    const answer = await new AdminClient(io, opts).post<ApproveAnswer>(
      `/v1/approvals/${encodeURIComponent(id)}/approve`,
      opts.note ? { note: opts.note } : {},
    );
    print(
      opts,
      answer,
      () =>
        `approved ${answer.approval.id}: published ${answer.published.id} version ${answer.published.version}, ` +
        `status ${answer.published.status}\n`,
    );
  });

  withServer(
    approvals
      .command('reject')
      .description('reject a publish request: nothing is published')
      .argument('<id>', 'the approval id (a_…)')
      .requiredOption('--reason <text>', 'why'),
  ).action(async (id: string, opts: ServerOptions & { json?: boolean; reason: string }) => {
    const answer = await new AdminClient(io, opts).post<{ approval: ApprovalView }>(
      `/v1/approvals/${encodeURIComponent(id)}/reject`,
      { reason: opts.reason },
    );
    print(opts, answer, () => `rejected ${answer.approval.id} (${answer.approval.journeyId})\n`);
  });
}
