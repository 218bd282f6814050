import { mkdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chromium, type Browser, type Page } from 'playwright-core';
import { browserLaunchOptions } from '../support/browser.ts';
import { gqlData, httpGraphql } from '../support/clients.ts';
import { createTestTenant, startGateway, type TestGateway, type TestTenant } from '../support/gateway.ts';

// GraphiQL as a new user meets it: open /graphql in Chromium, paste the token
// into the Headers editor, run a query, run a subscription and watch an event
// of a job sent meanwhile arrive in the result pane.

const UI_TIMEOUT = 15_000;
const ARTIFACTS = new URL('../artifacts/', import.meta.url);

let gateway: TestGateway;
let tenant: TestTenant;
let browser: Browser;
let page: Page;
let consoleLines: string[];

beforeAll(async () => {
  gateway = await startGateway();
  tenant = await createTestTenant(gateway);
  browser = await chromium.launch(await browserLaunchOptions());
  await mkdir(ARTIFACTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await gateway.stop();
});

/** Replaces the content of one of GraphiQL's Monaco editors, named by the end of its model's URI. */
async function fill(model: 'operation.graphql' | 'request-headers.json', text: string): Promise<void> {
  const editor = page.locator(`.monaco-editor[data-uri$="-${model}"]`);
  await editor.click();
  await page.keyboard.press('ControlOrMeta+KeyA');
  await page.keyboard.press('Delete');
  // Typed key by key, Monaco would add closing brackets and quotes of its own.
  await page.keyboard.insertText(text);
}

function resultPane() {
  return page.locator('section[aria-label="Result Window"]');
}

async function run(): Promise<void> {
  await page.locator('button[aria-label^="Execute query"]').click();
}

describe('GraphiQL at /graphql', () => {
  it('fills the docs before any token, then runs a query and a subscription with only the Authorization header', async () => {
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
    page = await context.newPage();
    consoleLines = [];
    page.on('console', (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
    try {
      await page.goto(`${gateway.url}/graphql`);
      await page.locator('.monaco-editor[data-uri$="-operation.graphql"]').waitFor({ timeout: UI_TIMEOUT });

      // The schema arrived without a token: the documentation explorer lists the root types.
      await page.locator('button[aria-label="Show Documentation Explorer"]').click();
      await page.locator('.graphiql-doc-explorer').getByText('Mutation', { exact: true }).first().waitFor({ timeout: UI_TIMEOUT });

      await page.getByText('Headers', { exact: true }).click();
      await fill('request-headers.json', JSON.stringify({ Authorization: `Bearer ${tenant.token}` }));

      await fill('operation.graphql', '{ viewer { tenant { name } scopes } }');
      await run();
      await resultPane().getByText(tenant.tenant.name).waitFor({ timeout: UI_TIMEOUT });

      await fill('operation.graphql', 'subscription { jobEvents { type jobId } }');
      await run();
      // Jobs sent over HTTP until one of them shows up: the subscription is live without guessing a delay.
      let shown: string | null = null;
      for (let attempt = 0; attempt < 30 && !shown; attempt++) {
        const { sendJob } = await gqlData<{ sendJob: { id: string } }>(
          gateway.graphqlUrl,
          tenant.token,
          'mutation { sendJob(queue: "graphiql", data: { from: "test" }) { id } }',
        );
        try {
          await resultPane().getByText(sendJob.id).waitFor({ timeout: 500 });
          shown = sendJob.id;
        } catch {
          // Not yet subscribed when this one was sent.
        }
      }
      expect(shown).not.toBeNull();
      await expect(resultPane().textContent()).resolves.toContain('CREATED');
      await page.screenshot({ path: new URL('graphiql.png', ARTIFACTS).pathname });
    } catch (error) {
      await page.screenshot({ path: new URL('graphiql-failure.png', ARTIFACTS).pathname, fullPage: true });
      throw new Error(`${String(error)}\nconsole:\n${consoleLines.join('\n')}`);
    } finally {
      await context.close();
    }
  }, 90_000);
});

describe('introspection without a token', () => {
  const INTROSPECTION = '{ __schema { queryType { name } } __type(name: "Job") { fields { name } } }';

  it('is answered while introspection is on, and reveals only the schema', async () => {
    const { status, body } = await httpGraphql<{ __schema: { queryType: { name: string } }; __type: { fields: { name: string }[] } }>(
      gateway.graphqlUrl,
      null,
      INTROSPECTION,
    );
    expect(status).toBe(200);
    expect(body.data?.__schema.queryType.name).toBe('Query');
    expect(body.data?.__type.fields.map((field) => field.name)).toContain('error');
  });

  it.each([
    ['a field of the schema', '{ viewer { tokenId } }'],
    ['introspection next to a field of the schema', '{ __typename viewer { tokenId } }'],
    ['introspection inside a fragment at the root', '{ ...F } fragment F on Query { __typename }'],
    ['a subscription', 'subscription { jobEvents { type } }'],
  ])('still answers %s with 401 UNAUTHENTICATED', async (_label, query) => {
    const { status, body } = await httpGraphql(gateway.graphqlUrl, null, query);
    expect(status).toBe(401);
    expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('answers a wrong token with 401 even for introspection, and no schema without a token when introspection is off', async () => {
    expect((await httpGraphql(gateway.graphqlUrl, 'jg_not-a-token', INTROSPECTION)).status).toBe(401);
    const closed = await startGateway({ introspection: false });
    try {
      // Without a token and with introspection off, it is refused before its body is read.
      const { status, body } = await httpGraphql(closed.graphqlUrl, null, INTROSPECTION);
      expect(status).toBe(401);
      expect(body.data).toBeUndefined();
      expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    } finally {
      await closed.stop();
    }
  });
});
