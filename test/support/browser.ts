import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { LaunchOptions } from 'playwright-core';
import { projectRoot } from '../../src/paths.ts';

// The Chromium that browser tests launch: Debian's when it is installed
// (`/usr/bin/chromium` or `chromium` on PATH), else the one shipped inside the
// npm package @sparticuz/chromium, so browser tests run on any machine that ran
// `npm install`. CHROMIUM_PATH names another binary; JOBGATE_TEST_BROWSER=packaged
// forces the packaged one (test/e2e/packaged-browser.test.ts always uses it).

const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
const PACKAGE_DIR = path.join(projectRoot, 'node_modules', '@sparticuz', 'chromium');

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function systemChromium(): string | null {
  const candidates = [
    '/usr/bin/chromium',
    ...(process.env.PATH ?? '')
      .split(path.delimiter)
      .filter(Boolean)
      .map((dir) => path.join(dir, 'chromium')),
  ];
  return candidates.find(executable) ?? null;
}

/**
 * The package inflates its binary into os.tmpdir() and then reuses whatever
 * `/tmp/chromium` holds, whichever version or run put it there. Inflate it once
 * per package version into node_modules/.cache instead, in a child process
 * whose TMPDIR is a fresh directory, renamed into place when complete.
 */
async function packagedChromium(): Promise<string> {
  const { version } = JSON.parse(readFileSync(path.join(PACKAGE_DIR, 'package.json'), 'utf8')) as { version: string };
  const cache = path.join(projectRoot, 'node_modules', '.cache', 'jobgate');
  const target = path.join(cache, `chromium-${version}`);
  const binary = path.join(target, 'chromium');
  if (existsSync(binary)) return binary;
  await mkdir(cache, { recursive: true });
  const staging = await mkdtemp(path.join(cache, 'chromium-inflating-'));
  try {
    await promisify(execFile)(
      process.execPath,
      ['--input-type=module', '-e', "const { default: c } = await import('@sparticuz/chromium'); await c.executablePath();"],
      { cwd: projectRoot, env: { ...process.env, TMPDIR: staging } },
    );
    await rename(staging, target);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    // Another run may have put the same version in place first.
    if (!existsSync(binary)) throw error;
  }
  return binary;
}

/** The packaged Chromium, whatever else the machine has. */
export async function packagedBrowserLaunchOptions(): Promise<LaunchOptions> {
  return { executablePath: await packagedChromium(), args: ARGS, headless: true };
}

export async function browserLaunchOptions(): Promise<LaunchOptions> {
  const choice = process.env.JOBGATE_TEST_BROWSER;
  if (choice === 'packaged') return packagedBrowserLaunchOptions();
  if (choice) throw new Error(`JOBGATE_TEST_BROWSER=${choice}: the only value is "packaged" (unset: Debian's chromium when installed)`);
  const system = process.env.CHROMIUM_PATH || systemChromium();
  return system ? { executablePath: system, args: ARGS, headless: true } : packagedBrowserLaunchOptions();
}
