import { readFileSync } from 'node:fs';

/*
 * `node dist/scripts/bench/profile-summary.js <file.cpuprofile> [top]`: where a V8 CPU profile
 * (node --cpu-prof, as BENCH_CPU_PROF writes them) spends its time: self time by package or
 * project folder, and the functions with the most self time.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** `bullmq`, `@temporalio/worker`, `node:internal`, `server/` …: who owns the code. */
function owner(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node (built-in)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const own = /\/dist\/([^/]+)\//.exec(url);
  return own ? `touchpoint ${own[1]}/` : url;
}

/** The file from its package or project folder on: `ioredis/built/Pipeline.js`, `server/app.js`. */
function where(url: string): string {
  return /node_modules\/(.*)$/.exec(url)?.[1] ?? /\/dist\/(.*)$/.exec(url)?.[1] ?? url;
}

function main(): void {
  const [file, topArg] = process.argv.slice(2);
  if (!file) throw new Error('usage: profile-summary <file.cpuprofile> [top]');
  const top = Number(topArg ?? 25);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfMs = new Map<number, number>();
  profile.samples.forEach((id, i) =>
    selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000),
  );
  const total = [...selfMs.values()].reduce((a, b) => a + b, 0);

  const byOwner = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const [id, ms] of selfMs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const who = owner(url, functionName);
    byOwner.set(who, (byOwner.get(who) ?? 0) + ms);
    const name = `${functionName || '(anonymous)'} ${where(url) || who}${url ? `:${lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
  }
  const lines = [`${file}: ${(total / 1000).toFixed(1)} s sampled`];
  const show = (title: string, map: Map<string, number>) => {
    lines.push('', title);
    for (const [name, ms] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      lines.push(
        `${((ms / total) * 100).toFixed(1).padStart(5)} %  ${ms.toFixed(0).padStart(7)} ms  ${name}`,
      );
    }
  };
  show('self time by owner', byOwner);
  show('self time by function', byFunction);
  process.stdout.on('error', () => {}); // e.g. piped into head
  process.stdout.write(`${lines.join('\n')}\n`);
}

main();
