import { chromium, type Browser } from 'playwright-core'
import type { Test } from 'tap'

/** The machine's headless Chromium (Debian's, never a downloaded build), closed when the test ends. */
export async function launchChromium (t: Test): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    // This machine has no network: without these, Chromium keeps trying to reach Google's hosts.
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
  })
  t.teardown(() => browser.close())
  return browser
}
