import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { chromium, type Browser } from 'playwright-core';
import { packagedBrowserLaunchOptions } from '../support/browser.ts';
import { createTestTenant, startGateway, type TestGateway, type TestTenant } from '../support/gateway.ts';

// The fresh-machine path of the browser tests: the Chromium shipped in the npm
// package, launched even where Debian's is installed (the dashboard's tests
// prefer that one), signs in to the dashboard.

let gateway: TestGateway;
let browser: Browser;
let tenant: TestTenant;

beforeAll(async () => {
  gateway = await startGateway();
  tenant = await createTestTenant(gateway, ['READ']);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
});

it('the packaged Chromium launches and signs in to the dashboard', async () => {
  browser = await chromium.launch(await packagedBrowserLaunchOptions());
  const page = await browser.newPage();
  await page.goto(`${gateway.url}/dashboard/`);
  await page.getByLabel('API token').fill(tenant.token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Queues' }).waitFor({ timeout: 15_000 });
  expect(await page.locator('header').textContent()).toContain(tenant.tenant.name);
}, 90_000);
