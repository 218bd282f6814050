-- The latest progress a job's holder reported, kept while the job is.
CREATE TABLE "job_progress" (
    "queue" TEXT NOT NULL,
    "job_id" UUID NOT NULL,
    "progress" JSONB NOT NULL,
    "reported_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "job_progress_pkey" PRIMARY KEY ("job_id", "queue")
);
