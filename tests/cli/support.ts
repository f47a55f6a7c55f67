import path from 'node:path';
import type { CliIo } from '../../cli/io';
import { runCli } from '../../cli/program';

export const ROOT = path.resolve(__dirname, '../..');
export const SIM = 'tests/fixtures/simulation';
export const TEMPLATES = `${SIM}/templates`;

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** Runs the commander program in-process from the repo root, with output captured. */
export async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  let out = '';
  let err = '';
  const io: CliIo = {
    out: (text) => void (out += text),
    err: (text) => void (err += text),
    // Nothing from the developer's shell leaks in (TOUCHPOINT_URL, an admin key, a config file).
    env: { PATH: process.env.PATH, ...env },
    cwd: ROOT,
  };
  const code = await runCli(args, io);
  return { code, out, err };
}
