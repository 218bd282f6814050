import { expect, it } from '@jest/globals';
import { useGateway } from '../support/gateway.ts';

const gateway = useGateway();

it('answers /health and /ready without a token', async () => {
  expect((await fetch(`${gateway.url}/health`)).status).toBe(200);
  expect((await fetch(`${gateway.url}/ready`)).status).toBe(200);
});

it('serves GraphiQL at /graphql to a browser', async () => {
  const response = await fetch(gateway.graphqlUrl, { headers: { accept: 'text/html' } });
  expect(response.status).toBe(200);
  const html = await response.text();
  expect(html).toContain('GraphiQL');
});

it('answers 404 elsewhere', async () => {
  expect((await fetch(`${gateway.url}/nope`)).status).toBe(404);
});
