-- Every job event (state change, release, edit, progress report), written by the
-- job-event triggers beside their NOTIFY, kept for JOBGATE_EVENT_RETENTION_HOURS.
-- Position: (tx, seq); see docs/architecture.md for why it is gap-free. Partitioned
-- by day on "at": the gateway creates partitions ahead and drops those past
-- retention; the default partition only catches rows no partition was made for.
CREATE SEQUENCE "job_event_seq";

CREATE TABLE "job_event" (
    "tx" BIGINT NOT NULL,
    "seq" BIGINT NOT NULL,
    "xid" XID8 NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "op" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "queue" TEXT NOT NULL,
    "job_id" UUID NOT NULL,
    "retry_count" INTEGER NOT NULL,
    "progress" JSONB
) PARTITION BY RANGE ("at");

-- The only index: readers walk positions. Every event pays for it.
CREATE INDEX "job_event_position_idx" ON "job_event" ("tx", "seq");

CREATE TABLE "job_event_default" PARTITION OF "job_event" DEFAULT;
