/**
 * The GraphQL operations most tests need on the way to what they test (a job
 * to look at, a queue to send to), with typed helpers that send them over HTTP.
 */
import { gqlData } from './clients.ts';

export const SEND_JOB = 'mutation($queue: String!, $data: JSON!, $options: JobOptionsInput) { sendJob(queue: $queue, data: $data, options: $options) { id } }';
export const SEND_JOBS = 'mutation($queue: String!, $jobs: [JobInput!]!) { sendJobs(queue: $queue, jobs: $jobs) }';
export const CREATE_QUEUE = 'mutation($name: String!, $options: QueueOptionsInput) { createQueue(name: $name, options: $options) { name } }';
export const COMPLETE_JOB = 'mutation($queue: String!, $id: ID!, $output: JSON) { completeJob(queue: $queue, id: $id, output: $output) { id } }';
export const FAIL_JOB = 'mutation($queue: String!, $id: ID!, $error: JSON) { failJob(queue: $queue, id: $id, error: $error) { id } }';

/** What the helpers need of a gateway. */
export interface GraphqlEndpoint {
  graphqlUrl: string;
}

/** One job of a `sendJobs` batch. */
export interface JobInput {
  data: unknown;
  options?: Record<string, unknown>;
}

/** Sends one job; its id. */
export async function sendJob(gateway: GraphqlEndpoint, token: string, queue: string, data: unknown = {}, options?: object): Promise<string> {
  return (await gqlData<{ sendJob: { id: string } }>(gateway.graphqlUrl, token, SEND_JOB, { queue, data, options })).sendJob.id;
}

/** Sends a batch in one request; the ids in input order. */
export async function sendJobs(gateway: GraphqlEndpoint, token: string, queue: string, jobs: readonly JobInput[]): Promise<string[]> {
  return (await gqlData<{ sendJobs: string[] }>(gateway.graphqlUrl, token, SEND_JOBS, { queue, jobs })).sendJobs;
}

export async function createQueue(gateway: GraphqlEndpoint, token: string, name: string, options?: object): Promise<void> {
  await gqlData(gateway.graphqlUrl, token, CREATE_QUEUE, { name, options });
}

export async function completeJob(gateway: GraphqlEndpoint, token: string, queue: string, id: string, output?: unknown): Promise<void> {
  await gqlData(gateway.graphqlUrl, token, COMPLETE_JOB, { queue, id, output });
}

export async function failJob(gateway: GraphqlEndpoint, token: string, queue: string, id: string, error?: unknown): Promise<void> {
  await gqlData(gateway.graphqlUrl, token, FAIL_JOB, { queue, id, error });
}
