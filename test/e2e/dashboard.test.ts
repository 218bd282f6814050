import { mkdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { revokeToken } from '../../src/auth/tokens.ts';
import { browserLaunchOptions } from '../support/browser.ts';
import { gqlData } from '../support/clients.ts';
import { createTestTenant, issueExtraToken, startGateway, uniqueName, useTestClient, type TestGateway, type TestTenant } from '../support/gateway.ts';
import { useOutsideBoss } from '../support/jobs.ts';
import { SEND_JOBS, sendJob } from '../support/operations.ts';

// The dashboard in a real browser (Chromium, driven by playwright-core)
// against a real gateway, PostgreSQL and pg-boss. Every wait is for something
// to appear on the page; nothing is timed.

const UI_TIMEOUT = 15_000;
const ARTIFACTS = new URL('../artifacts/', import.meta.url);
const DOCS = new URL('../../docs/', import.meta.url);
const AXE = fileURLToPath(new URL('../../node_modules/axe-core/axe.min.js', import.meta.url));

let gateway: TestGateway;
let browser: Browser;
const boss = useOutsideBoss({ max: 2 });
const db = useTestClient();
let tenantA: TestTenant;
let tenantB: TestTenant;
let readOnlyTokenA: string;
let context: BrowserContext;
let page: Page;
/** Everything the page printed to its console, and every URL it requested. */
let consoleLines: string[];
let requestedUrls: string[];
/** What the dashboard's Content-Security-Policy refused, on any page of the test. */
let cspViolations: string[];

const send = (tenant: TestTenant, queue: string, data: Record<string, unknown>, options?: Record<string, unknown>) =>
  sendJob(gateway, tenant.token, queue, data, options);

async function storedState(tenant: TestTenant, queue: string, id: string): Promise<string | null> {
  const { rows } = await db.query<{ state: string }>('SELECT state FROM pgboss.job WHERE name = $1 AND id = $2', [`${tenant.tenant.id}/${queue}`, id]);
  return rows[0]?.state ?? null;
}

/** An outside worker: plain pg-boss takes the queue's next job (it becomes active). */
async function take(tenant: TestTenant, queue: string, id: string): Promise<void> {
  const [job] = await boss.fetch(`${tenant.tenant.id}/${queue}`);
  expect(job?.id).toBe(id);
}

async function signIn(token: string): Promise<void> {
  await page.goto(`${gateway.url}/dashboard/`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function signedIn(token: string): Promise<void> {
  await signIn(token);
  await page.getByRole('heading', { level: 1, name: 'Queues' }).waitFor({ timeout: UI_TIMEOUT });
  await page.getByText('Live', { exact: true }).waitFor({ timeout: UI_TIMEOUT });
}

function jobRow(id: string, state?: string) {
  return page.locator(state ? `tr[data-job-id="${id}"][data-state="${state}"]` : `tr[data-job-id="${id}"]`);
}

/** What the clipboard gets when the user selects the text of the element at `selector` and copies it. */
async function copiedText(selector: string): Promise<string> {
  return page.evaluate(`(() => {
    const range = document.createRange();
    range.selectNodeContents(document.querySelector(${JSON.stringify(selector)}));
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    let copied = '';
    const read = (event) => { copied = event.clipboardData.getData('text/plain'); };
    document.addEventListener('copy', read);
    document.execCommand('copy');
    document.removeEventListener('copy', read);
    return copied;
  })()`);
}

function queueRow(name: string) {
  return page.locator(`tr[data-queue="${name}"]`);
}

/** A mark in the page's JavaScript state: still there means the page never reloaded. */
async function markPage(): Promise<void> {
  await page.evaluate('window.__jobgateMark = "not reloaded"');
}

async function pageWasNotReloaded(): Promise<boolean> {
  return (await page.evaluate('window.__jobgateMark')) === 'not reloaded';
}

interface AxeViolation {
  id: string;
  impact: string;
  help: string;
  targets: string[];
}

/** axe-core's WCAG 2.1 A and AA rules on the page as it is now. */
async function accessibilityViolations(): Promise<AxeViolation[]> {
  // Evaluated, not added as a <script>: the dashboard's Content-Security-Policy refuses inline scripts.
  if (!(await page.evaluate('typeof window.axe !== "undefined"'))) await page.evaluate(await readFile(AXE, 'utf8'));
  return page.evaluate(`axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
    .then((result) => result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) })))`);
}

beforeAll(async () => {
  gateway = await startGateway();
  browser = await chromium.launch(await browserLaunchOptions());
  tenantA = await createTestTenant(gateway, ['PUBLISH', 'READ', 'WORK'], uniqueName('acme'));
  tenantB = await createTestTenant(gateway, ['PUBLISH', 'READ'], uniqueName('globex'));
  readOnlyTokenA = (await issueExtraToken(gateway, tenantA.tenant.id, ['READ'])).token;
  await mkdir(ARTIFACTS, { recursive: true });
  // The first run on a machine without Debian's chromium inflates the packaged one.
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
});

beforeEach(async () => {
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US', timezoneId: 'UTC' });
  page = await context.newPage();
  consoleLines = [];
  requestedUrls = [];
  page.on('console', (message) => consoleLines.push(message.text()));
  page.on('request', (request) => requestedUrls.push(request.url()));
  cspViolations = [];
  await context.exposeFunction('reportCspViolation', (violation: string) => cspViolations.push(violation));
  await context.addInitScript(() => {
    const report = (window as unknown as { reportCspViolation(violation: string): void }).reportCspViolation;
    document.addEventListener('securitypolicyviolation', (event) => report(`${event.effectiveDirective} ${event.blockedURI}`));
  });
});

afterEach(async () => {
  await context.close();
  expect(cspViolations).toEqual([]);
});

describe('signing in', () => {
  it('a wrong token shows a clear message and is not kept', async () => {
    await signIn('not-a-real-token-0123456789');
    const alert = page.getByRole('alert');
    await alert.waitFor({ timeout: UI_TIMEOUT });
    expect(await alert.textContent()).toMatch(/not accepted: it is unknown, revoked or expired/);
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    expect(await page.getByRole('heading', { level: 1, name: 'Queues' }).count()).toBe(0);
  });

  it('keeps the token for the tab session only: never in a URL, a log line or localStorage', async () => {
    await signedIn(tenantA.token);
    expect(await page.evaluate('Object.values(sessionStorage)')).toEqual([tenantA.token]);
    expect(await page.evaluate('localStorage.length')).toBe(0);
    // A reload in the same tab stays signed in.
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Queues' }).waitFor({ timeout: UI_TIMEOUT });
    expect(requestedUrls.length).toBeGreaterThan(0);
    expect(requestedUrls.some((url) => url.includes(tenantA.token))).toBe(false);
    expect(page.url()).not.toContain(tenantA.token);
    expect(consoleLines.some((line) => line.includes(tenantA.token))).toBe(false);
    // Signing out forgets it.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').waitFor({ timeout: UI_TIMEOUT });
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
  });

  it('a token revoked while the page is open signs it out with a clear message', async () => {
    const extra = await issueExtraToken(gateway, tenantA.tenant.id, ['READ']);
    await signedIn(extra.token);
    expect(await revokeToken(gateway.services.prisma, extra.id)).toBe(true);
    await page.getByLabel('API token').waitFor({ timeout: UI_TIMEOUT });
    expect(await page.getByRole('status').filter({ hasText: 'not accepted' }).count()).toBe(1);
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
  });

  it('shows the tenant and the token scopes', async () => {
    await signedIn(readOnlyTokenA);
    const header = page.locator('header');
    expect(await header.textContent()).toContain(tenantA.tenant.name);
    expect(await header.textContent()).toContain('READ');
    expect(await header.textContent()).not.toContain('PUBLISH');
    // No ADMIN scope: no cross-tenant view.
    expect(await page.getByRole('link', { name: 'All tenants' }).count()).toBe(0);
  });
});

describe('live queue and jobs', () => {
  it('a job sent through the API appears without a reload and moves to completed when a worker completes it', async () => {
    const queue = uniqueName('emails');
    await send(tenantA, `${queue}-warmup`, { warm: true });
    await signedIn(tenantA.token);
    await queueRow(`${queue}-warmup`).waitFor({ timeout: UI_TIMEOUT });
    await markPage();

    // The queue appears in the table, live, with its count.
    const id = await send(tenantA, queue, { to: 'ada@example.com' });
    await queueRow(queue).locator('[data-count="queued"]', { hasText: '1' }).waitFor({ timeout: UI_TIMEOUT });

    await queueRow(queue).getByRole('link', { name: queue }).click();
    await page.getByRole('heading', { level: 1, name: queue }).waitFor({ timeout: UI_TIMEOUT });
    await jobRow(id, 'CREATED').waitFor({ timeout: UI_TIMEOUT });

    // A second job sent while the page is open comes in at the top.
    const second = await send(tenantA, queue, { to: 'grace@example.com' });
    await jobRow(second, 'CREATED').waitFor({ timeout: UI_TIMEOUT });
    const order = await page.locator('tr[data-job-id]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-job-id')));
    expect(order.slice(0, 2)).toEqual([second, id]);

    // A plain pg-boss worker takes it and completes it.
    await take(tenantA, queue, id);
    await jobRow(id, 'ACTIVE').waitFor({ timeout: UI_TIMEOUT });
    await boss.complete(`${tenantA.tenant.id}/${queue}`, id, { sent: true });
    await jobRow(id, 'COMPLETED').waitFor({ timeout: UI_TIMEOUT });
    await page.locator('.stat-completed dd', { hasText: '1' }).waitFor({ timeout: UI_TIMEOUT });

    // Its detail shows the output and the timeline.
    await jobRow(id).getByRole('link').click();
    await page.getByRole('heading', { level: 1, name: new RegExp(id) }).waitFor({ timeout: UI_TIMEOUT });
    expect(await page.locator('pre.json').first().textContent()).toContain('ada@example.com');
    expect(await page.locator('pre.json').nth(1).textContent()).toContain('"sent": true');
    // The timeline comes from the job-event log, each moment once.
    await page.locator('.timeline li.timeline-log', { hasText: 'Completed' }).waitFor({ timeout: UI_TIMEOUT });
    expect(await page.locator('.timeline li strong').allTextContents()).toEqual(['Created', 'Started', 'Completed']);
    expect(await page.locator('.timeline li.timeline-stored').count()).toBe(0);

    // Jobs sent in one call share their creation millisecond, and so the start of their
    // (time-ordered) ids: the list shows the end, with the whole id in its title and on copy.
    await page.locator('.breadcrumb').getByRole('link', { name: queue, exact: true }).click();
    await page.getByRole('heading', { level: 1, name: queue }).waitFor({ timeout: UI_TIMEOUT });
    const pair = (
      await gqlData<{ sendJobs: string[] }>(gateway.graphqlUrl, tenantA.token, SEND_JOBS, {
        queue,
        jobs: [{ data: { n: 1 } }, { data: { n: 2 } }],
      })
    ).sendJobs;
    expect(pair[0]!.slice(0, 13)).toBe(pair[1]!.slice(0, 13));
    const shown: string[] = [];
    for (const jobId of pair) {
      const selector = `tr[data-job-id="${jobId}"] [data-id]`;
      const label = page.locator(selector);
      await label.waitFor({ timeout: UI_TIMEOUT });
      expect(await label.getAttribute('title')).toBe(jobId);
      shown.push((await label.textContent()) ?? '');
      expect(await copiedText(selector)).toBe(jobId);
    }
    expect(shown[0]).not.toBe(shown[1]);
    expect(shown).toEqual(pair.map((jobId) => `…${jobId.slice(-12)}`));

    expect(await pageWasNotReloaded()).toBe(true);
  });

  it("a job's timeline shows its whole history from the event log, though the page opened after it happened", async () => {
    const queue = uniqueName('history');
    const name = `${tenantA.tenant.id}/${queue}`;
    const id = await send(tenantA, queue, { n: 1 }, { retryLimit: 1, retryDelay: 0 });
    await take(tenantA, queue, id);
    await boss.fail(name, id, { message: 'first try' });
    await take(tenantA, queue, id);
    await boss.complete(name, id);
    await signedIn(tenantA.token);
    await page.goto(`${gateway.url}/dashboard/queues/${queue}/jobs/${id}`);
    await page.locator('.timeline li.timeline-log', { hasText: 'Completed' }).waitFor({ timeout: UI_TIMEOUT });
    // The retry is in no column of the job's row: only the log knows it.
    expect(await page.locator('.timeline li strong').allTextContents()).toEqual(['Created', 'Started', 'Waiting to retry', 'Started', 'Completed']);
  });

  it('cancel, resume, retry and delete from the UI change the job in pg-boss', async () => {
    const queue = uniqueName('reports');
    const id = await send(tenantA, queue, { report: 'weekly' }, { retryLimit: 0 });
    await signedIn(tenantA.token);
    await page.goto(`${gateway.url}/dashboard/queues/${queue}/jobs/${id}`);
    await page.getByRole('heading', { level: 1, name: new RegExp(id) }).waitFor({ timeout: UI_TIMEOUT });
    await markPage();

    // Cancel: confirmed in a dialog first; backing out changes nothing.
    await page.getByRole('button', { name: 'Cancel job' }).click();
    const dialog = page.getByRole('dialog', { name: 'Cancel this job?' });
    await dialog.waitFor({ timeout: UI_TIMEOUT });
    await dialog.getByRole('button', { name: 'No, go back' }).click();
    await dialog.waitFor({ state: 'hidden', timeout: UI_TIMEOUT });
    expect(await storedState(tenantA, queue, id)).toBe('created');

    await page.getByRole('button', { name: 'Cancel job' }).click();
    await dialog.getByRole('button', { name: 'Yes, cancel job' }).click();
    await page.getByRole('status').filter({ hasText: 'Job cancelled.' }).waitFor({ timeout: UI_TIMEOUT });
    expect(await storedState(tenantA, queue, id)).toBe('cancelled');
    expect(await page.getByRole('button', { name: 'Cancel job' }).isDisabled()).toBe(true);

    // Resume it.
    await page.getByRole('button', { name: 'Resume job' }).click();
    await page.getByRole('dialog', { name: 'Resume this cancelled job?' }).getByRole('button', { name: 'Yes, resume job' }).click();
    await page.getByRole('status').filter({ hasText: 'Job resumed.' }).waitFor({ timeout: UI_TIMEOUT });
    expect(await storedState(tenantA, queue, id)).toBe('created');

    // A worker fails it for good (no retries left): retry it from the UI.
    await take(tenantA, queue, id);
    await boss.fail(`${tenantA.tenant.id}/${queue}`, id, { message: 'printer on fire' });
    await page.locator('.page-head .state-failed').waitFor({ timeout: UI_TIMEOUT });
    expect(await page.locator('pre.json-error').textContent()).toContain('printer on fire');
    await page.locator('.timeline li', { hasText: 'Failed' }).waitFor({ timeout: UI_TIMEOUT });
    await page.screenshot({ path: new URL('dashboard-job.png', ARTIFACTS).pathname, fullPage: true });
    await page.getByRole('button', { name: 'Retry job' }).click();
    await page.getByRole('dialog', { name: 'Retry this failed job?' }).getByRole('button', { name: 'Yes, retry job' }).click();
    await page.getByRole('status').filter({ hasText: 'Job queued for a retry.' }).waitFor({ timeout: UI_TIMEOUT });
    expect(await storedState(tenantA, queue, id)).toBe('retry');

    // Delete: gone from pg-boss, and the page goes back to the queue.
    await page.getByRole('button', { name: 'Delete job' }).click();
    await page.getByRole('dialog', { name: 'Delete this job?' }).getByRole('button', { name: 'Yes, delete job' }).click();
    await page.getByRole('heading', { level: 1, name: queue }).waitFor({ timeout: UI_TIMEOUT });
    expect(await storedState(tenantA, queue, id)).toBeNull();
    expect(await pageWasNotReloaded()).toBe(true);
  });

  it('a READ-only token sees the job actions disabled and cannot cancel', async () => {
    const queue = uniqueName('readonly');
    const id = await send(tenantA, queue, { n: 1 });
    await signedIn(readOnlyTokenA);
    await page.goto(`${gateway.url}/dashboard/queues/${queue}/jobs/${id}`);
    await page.getByRole('heading', { level: 1, name: new RegExp(id) }).waitFor({ timeout: UI_TIMEOUT });
    for (const name of ['Cancel job', 'Retry job', 'Resume job', 'Delete job']) {
      expect(await page.getByRole('button', { name }).isDisabled()).toBe(true);
    }
    expect(await page.getByRole('button', { name: 'Cancel job' }).getAttribute('aria-describedby')).toBeTruthy();
    expect(await page.locator('.notice').textContent()).toContain('PUBLISH');
    // Clicking does nothing: no dialog opens, the job stays as it is.
    await page.getByRole('button', { name: 'Cancel job' }).click({ force: true });
    expect(await page.getByRole('dialog').count()).toBe(0);
    expect(await storedState(tenantA, queue, id)).toBe('created');
    // Schedules cannot be created either.
    await page.getByRole('link', { name: 'Schedules' }).click();
    await page.getByRole('heading', { level: 1, name: 'Schedules' }).waitFor({ timeout: UI_TIMEOUT });
    expect(await page.getByRole('button', { name: 'Create schedule' }).isDisabled()).toBe(true);
  });
});

describe('tenant isolation', () => {
  it('an ADMIN token also gets the cross-tenant totals', async () => {
    const admin = await issueExtraToken(gateway, tenantA.tenant.id, ['READ', 'ADMIN']);
    await send(tenantB, uniqueName('b-counted'), { n: 1 });
    await signedIn(admin.token);
    await page.getByRole('link', { name: 'All tenants' }).click();
    await page.getByRole('heading', { level: 1, name: 'All tenants' }).waitFor({ timeout: UI_TIMEOUT });
    const table = page.getByRole('table', { name: 'Totals per tenant' });
    await table.getByRole('rowheader', { name: new RegExp(tenantB.tenant.name) }).waitFor({ timeout: UI_TIMEOUT });
    expect(await table.textContent()).toContain(tenantA.tenant.name);
    // Without ADMIN there is no such page.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signedIn(tenantB.token);
    expect(await page.getByRole('link', { name: 'All tenants' }).count()).toBe(0);
    await page.goto(`${gateway.url}/dashboard/tenants`);
    await page.getByRole('heading', { level: 1, name: 'Page not found' }).waitFor({ timeout: UI_TIMEOUT });
    expect((await page.locator('body').textContent()) ?? '').not.toContain(tenantA.tenant.name);
  });

  it("tenant B's token never shows tenant A's queues or jobs", async () => {
    const secret = uniqueName('a-secret');
    const secretJob = await send(tenantA, secret, { private: true });
    const own = uniqueName('b-own');
    await send(tenantB, own, { mine: true });

    await signedIn(tenantB.token);
    await queueRow(own).waitFor({ timeout: UI_TIMEOUT });
    // A's events do not reach B's page: send to A, then to B; once B's second job shows, A's would have too.
    await send(tenantA, secret, { private: 2 });
    await send(tenantB, own, { mine: 2 });
    await queueRow(own).locator('[data-count="queued"]', { hasText: '2' }).waitFor({ timeout: UI_TIMEOUT });
    const body = (await page.locator('body').textContent()) ?? '';
    expect(body).not.toContain(secret);
    expect(body).not.toContain(tenantA.tenant.name);
    expect(await queueRow(secret).count()).toBe(0);

    // Typing A's queue or job into the address bar finds nothing.
    await page.goto(`${gateway.url}/dashboard/queues/${secret}/`);
    await page.getByText(`There is no queue named “${secret}”.`).waitFor({ timeout: UI_TIMEOUT });
    await page.goto(`${gateway.url}/dashboard/queues/${secret}/jobs/${secretJob}`);
    await page.getByText('This job does not exist').waitFor({ timeout: UI_TIMEOUT });
    expect((await page.locator('main').textContent()) ?? '').not.toContain('"private"');
  });
});

describe('workers and schedules', () => {
  it('lists schedules and creates and removes one', async () => {
    const queue = uniqueName('nightly');
    await signedIn(tenantA.token);
    await page.getByRole('link', { name: 'Schedules' }).click();
    await page.getByRole('heading', { level: 1, name: 'Schedules' }).waitFor({ timeout: UI_TIMEOUT });
    await page.getByLabel('Queue').fill(queue);
    await page.getByLabel('Cron').fill('0 3 * * *');
    await page.getByLabel('Key (optional)').fill('backup');
    await page.getByLabel('Time zone').fill('Europe/Paris');
    await page.getByLabel('Data (JSON)').fill('{"what": "backup"}');
    await page.getByRole('button', { name: 'Create schedule' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `Scheduled ${queue}` })
      .waitFor({ timeout: UI_TIMEOUT });
    const row = page.getByRole('row').filter({ hasText: queue });
    await row.waitFor({ timeout: UI_TIMEOUT });
    expect(await row.textContent()).toContain('Europe/Paris');
    const { rows } = await db.query('SELECT cron, timezone FROM pgboss.schedule WHERE name = $1 AND key = $2', [`${tenantA.tenant.id}/${queue}`, 'backup']);
    expect(rows).toEqual([{ cron: '0 3 * * *', timezone: 'Europe/Paris' }]);

    // A bad cron expression is refused with the gateway's message.
    await page.getByLabel('Cron').fill('not a cron');
    await page.getByRole('button', { name: 'Create schedule' }).click();
    await page.getByRole('alert').filter({ hasText: 'invalid schedule' }).waitFor({ timeout: UI_TIMEOUT });

    await row.getByRole('button', { name: 'Remove' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Yes, remove schedule' }).click();
    await page.getByRole('status').filter({ hasText: 'removed' }).waitFor({ timeout: UI_TIMEOUT });
    const after = await db.query('SELECT 1 FROM pgboss.schedule WHERE name = $1', [`${tenantA.tenant.id}/${queue}`]);
    expect(after.rowCount).toBe(0);
  });

  it('the schedule form shows the next run times of the expression being typed, as pg-boss reads it', async () => {
    await signedIn(tenantA.token);
    await page.getByRole('link', { name: 'Schedules' }).click();
    await page.getByRole('heading', { level: 1, name: 'Schedules' }).waitFor({ timeout: UI_TIMEOUT });
    await page.getByLabel('Time zone').fill('Europe/Paris');
    await page.getByLabel('Cron').fill('0 9 * * 1-5');
    const runs = page.getByRole('list', { name: 'Next runs' });
    const times = runs.locator('time');
    await page.waitForFunction(
      (expected) =>
        Array.from(document.querySelectorAll('ol[aria-label="Next runs"] time'))
          .map((t) => t.getAttribute('datetime'))
          .join(' ') === expected,
      boss
        .previewSchedule('0 9 * * 1-5', { tz: 'Europe/Paris', count: 5 })
        .map((d) => d.toISOString())
        .join(' '),
      { timeout: UI_TIMEOUT },
    );
    expect(await times.count()).toBe(5);
    expect(await runs.textContent()).toContain('09:00');
    // A bad expression says so while typing, before anything is sent.
    await page.getByLabel('Cron').fill('61 * * * *');
    await page.getByText('Not a schedule the gateway accepts').waitFor({ timeout: UI_TIMEOUT });
    expect(await runs.count()).toBe(0);
    const { rows } = await db.query('SELECT 1 FROM pgboss.schedule WHERE starts_with(name, $1)', [`${tenantA.tenant.id}/`]);
    expect(rows).toEqual([]);
  });

  it('shows connected workers per queue with their concurrency and jobs in hand', async () => {
    const queue = uniqueName('resize');
    const { createClient } = await import('graphql-ws');
    const WebSocket = (await import('ws')).default;
    // The queue exists before the worker subscribes (workAssigned refuses unknown queues).
    await send(tenantA, queue, { image: 'cat.png' });
    const worker = createClient({ url: gateway.wsUrl, webSocketImpl: WebSocket, connectionParams: { token: tenantA.token }, retryAttempts: 0 });
    let assigned: () => void = () => {};
    const inHand = new Promise<void>((resolve, reject) => {
      assigned = resolve;
      setTimeout(() => reject(new Error('the worker was not assigned the job')), UI_TIMEOUT);
    });
    const stop = worker.subscribe(
      { query: 'subscription($queues: [String!]!) { workAssigned(queues: $queues, concurrency: 3) { id } }', variables: { queues: [queue] } },
      { next: () => assigned(), error: () => {}, complete: () => {} },
    );
    try {
      await inHand;
      await signedIn(tenantA.token);
      await page.getByRole('link', { name: 'Workers' }).click();
      const section = page.getByRole('region', { name: queue });
      await section.waitFor({ timeout: UI_TIMEOUT });
      await section.getByText('1 of 3 slots busy').waitFor({ timeout: UI_TIMEOUT });
      const cells = await section.locator('tbody tr').first().locator('td').allTextContents();
      expect(cells[1]).toBe('3');
    } finally {
      stop();
      await worker.dispose();
    }
  });
});

describe('dead letters and purges', () => {
  it('a dead letter queue offers a redrive with its preview, confirmed first, and the jobs go back in pg-boss', async () => {
    const queue = uniqueName('billing');
    const dead = `${queue}/dead`;
    const create = 'mutation($name: String!, $options: QueueOptionsInput) { createQueue(name: $name, options: $options) { name } }';
    await gqlData(gateway.graphqlUrl, tenantA.token, create, { name: dead });
    await gqlData(gateway.graphqlUrl, tenantA.token, create, { name: queue, options: { deadLetter: dead, retryLimit: 0 } });
    for (const n of [1, 2]) {
      const id = await send(tenantA, queue, { invoice: n });
      await take(tenantA, queue, id);
      await boss.fail(`${tenantA.tenant.id}/${queue}`, id, { message: 'card declined' });
    }
    const stored = async (name: string) =>
      (await db.query<{ state: string }>('SELECT state FROM pgboss.job WHERE name = $1 ORDER BY state', [`${tenantA.tenant.id}/${name}`])).rows.map(
        (r) => r.state,
      );
    expect(await stored(dead)).toEqual(['created', 'created']);

    await signedIn(tenantA.token);
    // A queue with nothing to redrive shows no such panel.
    await page.goto(`${gateway.url}/dashboard/queues/${encodeURIComponent(queue)}/`);
    await page.getByRole('heading', { level: 1, name: queue }).waitFor({ timeout: UI_TIMEOUT });
    await page.getByRole('heading', { name: 'Delete jobs' }).waitFor({ timeout: UI_TIMEOUT });
    expect(await page.getByRole('heading', { name: 'Dead letters' }).count()).toBe(0);

    await page.goto(`${gateway.url}/dashboard/queues/${encodeURIComponent(dead)}/`);
    const panel = page.getByRole('region', { name: 'Dead letters' });
    await panel.waitFor({ timeout: UI_TIMEOUT });
    expect(await panel.textContent()).toContain(`2 jobs here can go back for another try: 2 to ${queue}`);
    await markPage();
    await panel.getByRole('button', { name: 'Redrive…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Redrive 2 jobs?' });
    await dialog.waitFor({ timeout: UI_TIMEOUT });
    expect(await dialog.textContent()).toContain(`2 jobs to ${queue}`);
    await dialog.getByRole('button', { name: 'No, go back' }).click();
    await dialog.waitFor({ state: 'hidden', timeout: UI_TIMEOUT });
    expect(await stored(dead)).toEqual(['created', 'created']);

    await panel.getByRole('button', { name: 'Redrive…' }).click();
    await dialog.getByRole('button', { name: 'Yes, redrive' }).click();
    await page.getByRole('status').filter({ hasText: 'Redrove 2 jobs.' }).waitFor({ timeout: UI_TIMEOUT });
    expect(await stored(dead)).toEqual([]);
    expect(await stored(queue)).toEqual(['created', 'created', 'failed', 'failed']);
    await panel.getByText('Nothing left to redrive.').waitFor({ timeout: UI_TIMEOUT });
    expect(await pageWasNotReloaded()).toBe(true);
  });

  it("deleting jobs needs the queue's name typed, and deletes them in pg-boss", async () => {
    const queue = uniqueName('purge');
    await take(tenantA, queue, await send(tenantA, queue, { n: 1 }));
    await send(tenantA, queue, { n: 2 });
    await send(tenantA, queue, { n: 3 }, { delaySeconds: 3600 });
    await signedIn(tenantA.token);
    await page.goto(`${gateway.url}/dashboard/queues/${encodeURIComponent(queue)}/`);
    const panel = page.getByRole('region', { name: 'Delete jobs' });
    await panel.waitFor({ timeout: UI_TIMEOUT });

    await panel.getByRole('button', { name: 'Delete waiting jobs…' }).click();
    const dialog = page.getByRole('dialog', { name: `Delete the waiting jobs of ${queue}?` });
    await dialog.waitFor({ timeout: UI_TIMEOUT });
    const confirm = dialog.getByRole('button', { name: 'Delete waiting jobs' });
    expect(await confirm.isDisabled()).toBe(true);
    const input = dialog.getByLabel(`Type ${queue} to confirm`);
    await input.fill(queue.toUpperCase());
    expect(await confirm.isDisabled()).toBe(true);
    await input.press('Enter');
    expect(await stored(queue)).toEqual(['active', 'created', 'created']);
    await input.fill(queue);
    expect(await confirm.isDisabled()).toBe(false);
    await confirm.click();
    await page.getByRole('status').filter({ hasText: 'Deleted 2 jobs.' }).waitFor({ timeout: UI_TIMEOUT });
    expect(await stored(queue)).toEqual(['active']);

    await panel.getByRole('button', { name: 'Delete all jobs…' }).click();
    const all = page.getByRole('dialog', { name: `Delete every job of ${queue}?` });
    await all.getByLabel(`Type ${queue} to confirm`).fill(queue);
    await all.getByRole('button', { name: 'Delete all jobs' }).click();
    await page.getByRole('status').filter({ hasText: 'Deleted 1 job.' }).waitFor({ timeout: UI_TIMEOUT });
    expect(await stored(queue)).toEqual([]);

    async function stored(name: string): Promise<string[]> {
      return (await db.query<{ state: string }>('SELECT state::text FROM pgboss.job WHERE name = $1 ORDER BY 1', [`${tenantA.tenant.id}/${name}`])).rows.map(
        (r) => r.state,
      );
    }
  });

  it('a READ-only token sees the redrive and delete buttons disabled', async () => {
    const queue = uniqueName('ro-purge');
    await send(tenantA, queue, { n: 1 });
    await signedIn(readOnlyTokenA);
    await page.goto(`${gateway.url}/dashboard/queues/${encodeURIComponent(queue)}/`);
    const panel = page.getByRole('region', { name: 'Delete jobs' });
    await panel.waitFor({ timeout: UI_TIMEOUT });
    for (const name of ['Delete waiting jobs…', 'Delete finished jobs…', 'Delete all jobs…'])
      expect(await panel.getByRole('button', { name }).isDisabled()).toBe(true);
    await panel.getByRole('button', { name: 'Delete all jobs…' }).click({ force: true });
    expect(await page.getByRole('dialog').count()).toBe(0);
    expect((await db.query('SELECT 1 FROM pgboss.job WHERE name = $1', [`${tenantA.tenant.id}/${queue}`])).rowCount).toBe(1);
  });
});

describe('layout and accessibility', () => {
  it('passes the WCAG 2.1 A and AA checks of axe-core on every page', async () => {
    const queue = uniqueName('a11y');
    const id = await send(tenantA, queue, { n: 1 });
    const found: Record<string, AxeViolation[]> = {};

    await signIn('not-a-real-token-0123456789');
    await page.getByRole('alert').waitFor({ timeout: UI_TIMEOUT });
    found['sign-in'] = await accessibilityViolations();
    await page.screenshot({ path: new URL('dashboard-sign-in.png', ARTIFACTS).pathname });

    await signedIn(tenantA.token);
    await queueRow(queue).waitFor({ timeout: UI_TIMEOUT });
    found.queues = await accessibilityViolations();

    await page.goto(`${gateway.url}/dashboard/queues/${queue}/`);
    await jobRow(id).waitFor({ timeout: UI_TIMEOUT });
    await page.locator('.recharts-line-curve').first().waitFor({ timeout: UI_TIMEOUT });
    found.queue = await accessibilityViolations();
    await page.getByRole('button', { name: 'Delete all jobs…' }).click();
    await page.getByRole('dialog').waitFor({ timeout: UI_TIMEOUT });
    found['typed confirm dialog'] = await accessibilityViolations();
    await page.keyboard.press('Escape');

    await page.goto(`${gateway.url}/dashboard/queues/${queue}/jobs/${id}`);
    await page.locator('.timeline li').first().waitFor({ timeout: UI_TIMEOUT });
    found.job = await accessibilityViolations();
    await page.getByRole('button', { name: 'Delete job' }).click();
    await page.getByRole('dialog').waitFor({ timeout: UI_TIMEOUT });
    found['confirm dialog'] = await accessibilityViolations();
    await page.screenshot({ path: new URL('dashboard-confirm.png', ARTIFACTS).pathname });
    await page.keyboard.press('Escape');

    for (const name of ['Workers', 'Schedules']) {
      await page.getByRole('link', { name }).click();
      await page.getByRole('heading', { level: 1, name }).waitFor({ timeout: UI_TIMEOUT });
      await page.locator('.muted').first().waitFor({ timeout: UI_TIMEOUT });
      if (name === 'Schedules') await page.getByRole('list', { name: 'Next runs' }).waitFor({ timeout: UI_TIMEOUT });
      found[name.toLowerCase()] = await accessibilityViolations();
    }
    expect(found).toEqual({ 'sign-in': [], queues: [], queue: [], 'typed confirm dialog': [], job: [], 'confirm dialog': [], workers: [], schedules: [] });
  });

  it('works on a phone-sized screen without sideways scrolling of the page', async () => {
    await context.close();
    context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: 'en-US', timezoneId: 'UTC' });
    page = await context.newPage();
    const queue = uniqueName('mobile');
    await send(tenantA, queue, { n: 1 });
    await signedIn(tenantA.token);
    await page.goto(`${gateway.url}/dashboard/queues/${queue}/`);
    await page.locator('tr[data-job-id]').first().waitFor({ timeout: UI_TIMEOUT });
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    await page.screenshot({ path: new URL('dashboard-phone.png', ARTIFACTS).pathname, fullPage: true });
  });

  it('can be used with the keyboard alone: sign in, open a queue, open a job', async () => {
    const queue = uniqueName('keys');
    const id = await send(tenantA, queue, { n: 1 });
    await page.goto(`${gateway.url}/dashboard/`);
    // The token field has the focus; Enter submits.
    await page.getByLabel('API token').waitFor({ timeout: UI_TIMEOUT });
    expect(await page.evaluate('document.activeElement && document.activeElement.getAttribute("name")')).toBe('token');
    await page.keyboard.type(tenantA.token);
    await page.keyboard.press('Enter');
    await queueRow(queue).waitFor({ timeout: UI_TIMEOUT });
    // Tab to the queue's link and follow it.
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      if ((await page.evaluate('document.activeElement && document.activeElement.textContent')) === queue) break;
    }
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: queue }).waitFor({ timeout: UI_TIMEOUT });
    // Focus moved to the new page's heading.
    expect(await page.evaluate('document.activeElement && document.activeElement.tagName')).toBe('H1');
    await jobRow(id).waitFor({ timeout: UI_TIMEOUT });
    for (let i = 0; i < 60; i++) {
      await page.keyboard.press('Tab');
      if ((await page.evaluate('document.activeElement && document.activeElement.getAttribute("aria-label")')) === `Job ${id}`) break;
    }
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: new RegExp(id) }).waitFor({ timeout: UI_TIMEOUT });
    // The confirmation dialog closes with Escape, and nothing happens.
    await page.getByRole('button', { name: 'Cancel job' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').waitFor({ timeout: UI_TIMEOUT });
    expect(await page.evaluate('document.activeElement && document.activeElement.textContent')).toBe('No, go back');
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'hidden', timeout: UI_TIMEOUT });
    expect(await storedState(tenantA, queue, id)).toBe('created');
  });
});

describe('screenshot', () => {
  it('saves the queue page with an hour of activity (test/artifacts; docs/dashboard.png on request)', async () => {
    const queue = 'emails';
    const name = `${tenantA.tenant.id}/${queue}`;
    // An hour of work by an outside pg-boss worker: sent through the API,
    // taken and settled by pg-boss, then dated back over the last hour as if
    // it had run then (the history chart reads these timestamps).
    const ids: string[] = [];
    for (let batch = 0; batch < 4; batch++) {
      const result = await gqlData<{ sendJobs: string[] }>(gateway.graphqlUrl, tenantA.token, SEND_JOBS, {
        queue,
        jobs: Array.from({ length: 60 }, (_, i) => ({ data: { to: `user${batch * 60 + i}@example.com`, template: 'welcome' }, options: { retryLimit: 0 } })),
      });
      ids.push(...result.sendJobs);
    }
    const taken = await boss.fetch(name, { batchSize: 200 });
    for (const [index, job] of taken.entries()) {
      if (index % 23 === 5) await boss.fail(name, job.id, { message: 'SMTP 421: try again later' });
      else if (index < 190) await boss.complete(name, job.id, { delivered: true });
    }
    await db.query(
      `WITH numbered AS (SELECT id, row_number() OVER (ORDER BY created_on, id) AS n FROM pgboss.job WHERE name = $1)
       UPDATE pgboss.job j
          SET created_on = now() - make_interval(secs => 3550 - n.n * 14 - (n.n % 7) * 30),
              start_after = now() - make_interval(secs => 3550 - n.n * 14 - (n.n % 7) * 30),
              started_on = CASE WHEN j.started_on IS NULL THEN NULL
                ELSE now() - make_interval(secs => greatest(3530 - n.n * 14 - (n.n % 7) * 30 - (n.n % 5) * 25, 4)) END,
              completed_on = CASE WHEN j.completed_on IS NULL THEN NULL
                ELSE now() - make_interval(secs => greatest(3520 - n.n * 14 - (n.n % 7) * 30 - (n.n % 5) * 25 - (n.n % 3) * 20, 2)) END
         FROM numbered n
        WHERE j.name = $1 AND j.id = n.id`,
      [name],
    );
    await send(tenantA, queue, { to: 'new@example.com', template: 'welcome' });

    await signedIn(tenantA.token);
    await queueRow(queue).getByRole('link', { name: queue }).click();
    await page.getByRole('heading', { level: 1, name: queue }).waitFor({ timeout: UI_TIMEOUT });
    await page.locator('tr[data-job-id]').nth(20).waitFor({ timeout: UI_TIMEOUT });
    await page.locator('.recharts-line-curve').first().waitFor({ timeout: UI_TIMEOUT });
    // The throughput chart drew the hour: its summary counts what was sent.
    const caption = (await page.locator('figcaption').first().textContent()) ?? '';
    expect(caption).toContain('241 created');
    await page.screenshot({ path: new URL('dashboard-queue.png', ARTIFACTS).pathname, fullPage: false });
    // The README's picture changes every run (names, times): refreshed only on request.
    if (process.env.JOBGATE_UPDATE_DOCS_SCREENSHOT) {
      await mkdir(DOCS, { recursive: true });
      await page.screenshot({ path: new URL('dashboard.png', DOCS).pathname, fullPage: false });
    }
  });
});

describe('a large queue', () => {
  it('pages a queue of 100,000 jobs 50 at a time and keeps up with a burst of events', async () => {
    // A tenant of its own: its 100,000 events go to no other test's page.
    const bulk = await createTestTenant(gateway, ['PUBLISH', 'READ'], uniqueName('bulk'));
    const queue = uniqueName('bulk');
    const name = `${bulk.tenant.id}/${queue}`;
    await send(bulk, queue, { first: true });
    await signedIn(bulk.token);
    await page.goto(`${gateway.url}/dashboard/queues/${queue}/`);
    await page.locator('tr[data-job-id]').first().waitFor({ timeout: UI_TIMEOUT });
    // 100,000 jobs arrive while the page is open: 100,000 CREATED events for it.
    const requestsBefore = requestedUrls.filter((url) => url.endsWith('/graphql')).length;
    for (let batch = 0; batch < 10; batch++) {
      await boss.insert(
        name,
        Array.from({ length: 10_000 }, (_, i) => ({ data: { batch, i } })),
      );
    }
    const last = await send(bulk, queue, { last: true });
    await page.locator('.stat', { hasText: 'Total' }).locator('dd', { hasText: '100,002' }).waitFor({ timeout: 60_000 });
    await jobRow(last).waitFor({ timeout: 60_000 });
    await page.getByText('Showing 50 of 100,002').waitFor({ timeout: UI_TIMEOUT });
    expect(await page.locator('tr[data-job-id]').count()).toBe(50);
    // The refetches those events triggered were throttled: a trickle, not one (or three) per event.
    const refetches = requestedUrls.filter((url) => url.endsWith('/graphql')).length - requestsBefore;
    expect(refetches).toBeGreaterThan(0);
    expect(refetches).toBeLessThan(1_000);
    await page.getByRole('button', { name: 'Load 50 more' }).click();
    await page.getByText('Showing 100 of 100,002').waitFor({ timeout: UI_TIMEOUT });
    expect(await page.locator('tr[data-job-id]').count()).toBe(100);
    // The filter asks the gateway for that state only.
    await page.getByLabel('State').selectOption('COMPLETED');
    await page.getByText('No completed jobs.').waitFor({ timeout: UI_TIMEOUT });
  }, 240_000);
});

describe('content security policy', () => {
  it('is in force on the dashboard: the app runs under it, and an inline script is refused', async () => {
    const response = await page.goto(`${gateway.url}/dashboard/`);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    await signedIn(tenantA.token);
    expect(cspViolations).toEqual([]);
    await page.addScriptTag({ content: 'window.__inlineRan = true' }).catch(() => {});
    expect(await page.evaluate('window.__inlineRan === true')).toBe(false);
    for (let waited = 0; cspViolations.length === 0 && waited < 2_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(cspViolations).toEqual([expect.stringMatching(/^script-src-elem /)]);
    cspViolations.length = 0;
  });
});

describe('a dropped connection', () => {
  it('resumes the live streams after their last event: what happened meanwhile appears without a reload', async () => {
    const queue = uniqueName('drop');
    const name = `${tenantA.tenant.id}/${queue}`;
    // What the page sends over its graphql-ws sockets.
    const sent: string[] = [];
    page.on('websocket', (socket) => socket.on('framesent', (frame) => sent.push(String(frame.payload))));
    await signedIn(tenantA.token);
    const id = await send(tenantA, queue, { n: 1 }, { retryLimit: 1, retryDelay: 0 });
    await page.goto(`${gateway.url}/dashboard/queues/${queue}/jobs/${id}`);
    await page.locator('.timeline li.timeline-log', { hasText: 'Created' }).waitFor({ timeout: UI_TIMEOUT });
    await take(tenantA, queue, id);
    await page.locator('.page-head .state-active').waitFor({ timeout: UI_TIMEOUT });
    await markPage();
    const subscribesBefore = subscribes(sent).length;

    // The gateway goes away; meanwhile a plain pg-boss worker fails the job once.
    const port = gateway.port;
    await gateway.stop();
    await page.getByText('Reconnecting…', { exact: true }).waitFor({ timeout: UI_TIMEOUT });
    await boss.fail(name, id, { message: 'while away' });
    await take(tenantA, queue, id);
    gateway = await startGateway({ port });

    await page.getByText('Live', { exact: true }).waitFor({ timeout: 60_000 });
    await page.locator('.timeline li.timeline-log', { hasText: 'Waiting to retry' }).waitFor({ timeout: UI_TIMEOUT });
    await page.locator('.page-head .state-active').waitFor({ timeout: UI_TIMEOUT });
    expect(await page.locator('.timeline li strong').allTextContents()).toEqual(['Created', 'Started', 'Waiting to retry', 'Started']);
    // Both streams (the dashboard's and the job's) were sent again with the cursor of their last event.
    const again = subscribes(sent).slice(subscribesBefore);
    expect(again.filter((s) => s.variables.jobId === undefined && typeof s.variables.after === 'string')).toHaveLength(1);
    expect(again.filter((s) => s.variables.jobId === id && typeof s.variables.after === 'string')).toHaveLength(1);
    expect(await pageWasNotReloaded()).toBe(true);

    // And they go on live.
    await boss.complete(name, id);
    await page.locator('.timeline li.timeline-log', { hasText: 'Completed' }).waitFor({ timeout: UI_TIMEOUT });
    expect(await page.locator('.timeline li strong').allTextContents()).toEqual(['Created', 'Started', 'Waiting to retry', 'Started', 'Completed']);
  }, 120_000);
});

/** The jobEvents subscriptions among graphql-ws frames sent. */
function subscribes(frames: readonly string[]): { variables: { jobId?: string; after?: string | null } }[] {
  return frames
    .map((frame) => JSON.parse(frame) as { type: string; payload?: { query?: string; variables?: { jobId?: string; after?: string | null } } })
    .filter((message) => message.type === 'subscribe' && message.payload?.query?.includes('jobEvents'))
    .map((message) => ({ variables: message.payload?.variables ?? {} }));
}
