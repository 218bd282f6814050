/** The GraphQL documents the bench sends, as any client would. */
export const DOCS = {
  createQueue: 'mutation BenchCreateQueue($name: String!) { createQueue(name: $name) { name } }',
  sendJob: 'mutation BenchSendJob($queue: String!, $data: JSON) { sendJob(queue: $queue, data: $data) { id } }',
  sendJobs: 'mutation BenchSendJobs($queue: String!, $jobs: [JobInput!]!) { sendJobs(queue: $queue, jobs: $jobs) }',
  jobEventsAfter: 'subscription BenchJobEventsAfter($queue: String, $after: String) { jobEvents(queue: $queue, after: $after) { type jobId cursor } }',
  jobEvents: 'subscription BenchJobEvents($queue: String, $types: [JobEventType!]) { jobEvents(queue: $queue, types: $types) { type queue jobId at } }',
  workAssigned: 'subscription BenchWork($queues: [String!]!, $concurrency: Int) { workAssigned(queues: $queues, concurrency: $concurrency) { id } }',
  completeJob: 'mutation BenchComplete($queue: String!, $id: ID!) { completeJob(queue: $queue, id: $id) { id } }',
  viewer: 'query BenchViewer { viewer { tenant { id } } }',
} as const;

/** A small, typical job payload. */
export const jobData = (n: number) => ({ to: `user-${n}@example.com`, template: 'welcome', n });
