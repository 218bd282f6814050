-- Seals job-event cursors (src/events/event-cursors.ts): 32 bytes from PostgreSQL's strong random source.
INSERT INTO "gateway_secret" ("name", "value")
VALUES ('event-cursor', decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'));

-- The newest position the log's retention has dropped: a cursor below it may have lost events after it.
CREATE TABLE "job_event_floor" (
    "only" BOOLEAN NOT NULL DEFAULT true,
    "tx" BIGINT NOT NULL,
    "seq" BIGINT NOT NULL,

    CONSTRAINT "job_event_floor_pkey" PRIMARY KEY ("only"),
    CONSTRAINT "job_event_floor_only" CHECK ("only")
);
INSERT INTO "job_event_floor" ("tx", "seq") VALUES (-1, -1);

-- A job's timeline (jobEventHistory). Gateway job ids are time-ordered: their entries land at the index's right edge.
CREATE INDEX "job_event_job_idx" ON "job_event" ("job_id");
