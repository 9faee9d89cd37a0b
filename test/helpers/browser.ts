import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

// The one way the browser tests start Chromium: Debian's build, headless, with nothing of its own reaching out.

const CHROMIUM = '/usr/bin/chromium';

/** Headless Chromium; a missing browser fails loudly (CI installs it), it never skips the test that asked for it. */
export async function launchChromium(forWhat: string): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Chromium (apt-get install chromium) to run the ${forWhat}`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
