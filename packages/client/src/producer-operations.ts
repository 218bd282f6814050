import { graphql } from './generated/documents/index.ts';

// The producer's operations, typed by codegen (`npm run codegen`).

export const SendJobDocument = graphql(`
  mutation ProducerSendJob($queue: String!, $data: JSON, $options: JobOptionsInput) {
    sendJob(queue: $queue, data: $data, options: $options) {
      id
      queue
      state
    }
  }
`);

export const SendJobsDocument = graphql(`
  mutation ProducerSendJobs($queue: String!, $jobs: [JobInput!]!) {
    sendJobs(queue: $queue, jobs: $jobs)
  }
`);

export const CancelJobDocument = graphql(`
  mutation ProducerCancelJob($queue: String!, $id: ID!) {
    cancelJob(queue: $queue, id: $id) {
      id
      queue
      state
    }
  }
`);

export const ResumeJobDocument = graphql(`
  mutation ProducerResumeJob($queue: String!, $id: ID!) {
    resumeJob(queue: $queue, id: $id) {
      id
      queue
      state
    }
  }
`);

export const RetryJobDocument = graphql(`
  mutation ProducerRetryJob($queue: String!, $id: ID!) {
    retryJob(queue: $queue, id: $id) {
      id
      queue
      state
    }
  }
`);

export const DeleteJobDocument = graphql(`
  mutation ProducerDeleteJob($queue: String!, $id: ID!) {
    deleteJob(queue: $queue, id: $id)
  }
`);

export const GetJobDocument = graphql(`
  query ProducerGetJob($queue: String!, $id: ID!) {
    job(queue: $queue, id: $id) {
      id
      queue
      state
      data
      output
      priority
      retryCount
      retryLimit
      retryDelay
      retryDelayMax
      retryBackoff
      expireInSeconds
      heartbeatSeconds
      deleteAfterSeconds
      singletonKey
      groupId
      groupTier
      policy
      deadLetter
      createdOn
      startAfter
      startedOn
      heartbeatOn
      completedOn
      keepUntil
    }
  }
`);

// Settling a job handed over by a worker, with its lease.

export const CompleteWithLeaseDocument = graphql(`
  mutation LeaseCompleteJob($queue: String!, $id: ID!, $output: JSON, $lease: String!) {
    completeJob(queue: $queue, id: $id, output: $output, lease: $lease) {
      id
      queue
      state
    }
  }
`);

export const FailWithLeaseDocument = graphql(`
  mutation LeaseFailJob($queue: String!, $id: ID!, $error: JSON, $lease: String!) {
    failJob(queue: $queue, id: $id, error: $error, lease: $lease) {
      id
      queue
      state
    }
  }
`);

export const TouchWithLeaseDocument = graphql(`
  mutation LeaseTouchJob($queue: String!, $id: ID!, $lease: String!) {
    touchJob(queue: $queue, id: $id, lease: $lease) {
      id
      queue
      state
    }
  }
`);

export const ProgressWithLeaseDocument = graphql(`
  mutation LeaseReportProgress($queue: String!, $id: ID!, $progress: JSON!, $lease: String!) {
    reportProgress(queue: $queue, id: $id, progress: $progress, lease: $lease) {
      id
      queue
      state
    }
  }
`);

// Following job events over server-sent events.

export const JobEventsDocument = graphql(`
  subscription ProducerJobEvents($queue: String, $jobId: ID, $types: [JobEventType!], $after: String) {
    jobEvents(queue: $queue, jobId: $jobId, types: $types, after: $after) {
      type
      queue
      jobId
      state
      retryCount
      at
      progress
      cursor
    }
  }
`);

// The job's outcome comes with its final event, read when the event is delivered.
export const JobOutcomeEventsDocument = graphql(`
  subscription ProducerJobOutcomeEvents($jobId: ID!, $after: String) {
    jobEvents(jobId: $jobId, after: $after) {
      type
      queue
      jobId
      state
      retryCount
      progress
      cursor
      job {
        output
        error
      }
    }
  }
`);
