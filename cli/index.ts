import { runCli } from './program';

/** The `touchpoint` binary: see docs/cli.md. */
export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  process.exitCode = await runCli(argv);
}

if (require.main === module) void main();
