export { JobgateError, type GraphQLErrorLike } from './errors.ts';
export { createWorker, JobFailure, type JobContext, type JobHandler, type Worker, type WorkerJob, type WorkerOptions } from './worker.ts';
