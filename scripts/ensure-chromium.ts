/*
 * Makes sure Debian's chromium is at /usr/bin/chromium, for the console's browser tests
 * (tests/console/, driven by playwright-core), with a font that has Chinese glyphs so the zh-CN
 * screenshots are legible. Installs what is missing with apt-get, which needs root; does nothing
 * when both are already there.
 *
 *   node dist/scripts/ensure-chromium.js
 *
 * Exits 1, saying what to install, when chromium is missing and cannot be installed here. A
 * missing Chinese font only warns: the tests pass without it, the screenshots show boxes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CHROMIUM = '/usr/bin/chromium';
const CJK_FONT_PACKAGE = 'fonts-wqy-zenhei';

function run(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return result.status === 0;
}

/** Whether fontconfig knows a font covering Chinese (no fontconfig: treated as missing). */
function hasChineseFont(): boolean {
  const result = spawnSync('fc-list', [':lang=zh', 'family'], { encoding: 'utf8' });
  return result.status === 0 && result.stdout.trim() !== '';
}

function main(): number {
  const missingChromium = !existsSync(CHROMIUM);
  const missingFont = !hasChineseFont();
  if (!missingChromium && !missingFont) return 0;

  const manual = `install it yourself (Debian/Ubuntu: apt-get install -y chromium ${CJK_FONT_PACKAGE})`;
  const canInstall =
    process.platform === 'linux' && existsSync('/usr/bin/apt-get') && process.getuid?.() === 0;
  if (!canInstall) {
    if (missingChromium) {
      console.error(
        `chromium is missing at ${CHROMIUM} and cannot be installed here (needs apt-get and root): ${manual}`,
      );
      return 1;
    }
    console.warn(`no font with Chinese glyphs: zh-CN console screenshots will show boxes; ${manual}`);
    return 0;
  }

  const packages = [...(missingChromium ? ['chromium'] : []), ...(missingFont ? [CJK_FONT_PACKAGE] : [])];
  console.log(`installing ${packages.join(' ')} with apt-get for the console's browser tests`);
  // The package lists may be stale or absent on a fresh image: one update, then the install.
  const installed =
    run('apt-get', ['update']) && run('apt-get', ['install', '-y', '--no-install-recommends', ...packages]);
  if (!existsSync(CHROMIUM)) {
    console.error(`apt-get could not install chromium at ${CHROMIUM}: ${manual}`);
    return 1;
  }
  if (!installed || !hasChineseFont()) {
    console.warn(`${CJK_FONT_PACKAGE} did not install: zh-CN console screenshots will show boxes`);
  }
  return 0;
}

process.exitCode = main();
