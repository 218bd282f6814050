export { JobFailedError, JobgateError, type GraphQLErrorLike, type JobFailedType } from './errors.ts';
export {
  createProducer,
  type EventFilter,
  type EventHandlers,
  type EventStream,
  type FetchLike,
  type FetchResponse,
  type Job,
  type JobEvent,
  type JobEventType,
  type JobState,
  type JobSummary,
  type JobToSend,
  type Producer,
  type ProducerOptions,
  type SendOptions,
  type WaitOptions,
} from './producer.ts';
export { createWorker, JobFailure, type JobContext, type JobHandler, type Worker, type WorkerJob, type WorkerOptions } from './worker.ts';
