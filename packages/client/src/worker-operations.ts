import { graphql } from './generated/documents/index.ts';

// The worker's operations, typed by codegen (`npm run codegen`).

// Jobs claimed together arrive in one message (workAssignedBatches).
export const WorkAssignedDocument = graphql(`
  subscription WorkAssigned($queues: [String!]!, $concurrency: Int, $groupConcurrency: GroupConcurrencyInput) {
    workAssignedBatches(queues: $queues, concurrency: $concurrency, groupConcurrency: $groupConcurrency) {
      id
      queue
      data
      retryCount
      retryLimit
      expireInSeconds
      heartbeatSeconds
      startedOn
      groupId
      groupTier
      lease
    }
  }
`);

export const CompleteJobDocument = graphql(`
  mutation WorkerCompleteJob($queue: String!, $id: ID!, $output: JSON) {
    completeJob(queue: $queue, id: $id, output: $output) {
      id
    }
  }
`);

export const CompleteJobsDocument = graphql(`
  mutation WorkerCompleteJobs($queue: String!, $ids: [ID!]!) {
    completeJobs(queue: $queue, ids: $ids) {
      requested
      affected
    }
  }
`);

export const FailJobDocument = graphql(`
  mutation WorkerFailJob($queue: String!, $id: ID!, $error: JSON) {
    failJob(queue: $queue, id: $id, error: $error) {
      id
    }
  }
`);

export const TouchJobDocument = graphql(`
  mutation WorkerTouchJob($queue: String!, $id: ID!) {
    touchJob(queue: $queue, id: $id) {
      id
    }
  }
`);

export const ReportProgressDocument = graphql(`
  mutation WorkerReportProgress($queue: String!, $id: ID!, $progress: JSON!) {
    reportProgress(queue: $queue, id: $id, progress: $progress) {
      id
    }
  }
`);

export const PauseWorkDocument = graphql(`
  mutation WorkerPauseWork {
    pauseWork
  }
`);
