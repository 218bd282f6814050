export { JobgateError, type GraphQLErrorLike } from './errors.ts';
export {
  createProducer,
  type FetchLike,
  type Job,
  type JobState,
  type JobSummary,
  type JobToSend,
  type Producer,
  type ProducerOptions,
  type SendOptions,
} from './producer.ts';
export { createWorker, JobFailure, type JobContext, type JobHandler, type Worker, type WorkerJob, type WorkerOptions } from './worker.ts';
