import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadSettings } from '../../config/settings';
import { startTouchpoint } from '../../main/touchpoint';
import { SegmentConfigError } from '../../segmentation/load';

/** Segment files are checked at start-up, before any server starts or anything is written. */
test('an invalid segment file stops start-up with its file, line and column', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'tp-bad-segments-'));
  try {
    await writeFile(
      path.join(dir, 'dormant.yaml'),
      ['name: Dormant', 'where: { trait: lastOrderAt, befor: -90d }', ''].join('\n'),
    );
    const settings = {
      ...loadSettings({}),
      segmentsDir: dir,
      dataDir: path.join(dir, 'data'),
      seedJourneys: false,
    };
    const started = startTouchpoint(settings, new Set(['api', 'router']), pino({ level: 'silent' }));
    await expect(started).rejects.toThrow(SegmentConfigError);
    await expect(started).rejects.toThrow(
      `${path.join(dir, 'dormant.yaml')}:2:30 where.befor: unknown key \`befor\` (did you mean \`before\`?)`,
    );
    expect(existsSync(settings.dataDir)).toBe(false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
