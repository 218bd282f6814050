-- Job id first: lookups name a few job ids of one queue, and with the queue
-- name leading, the planner scanned every lease (live or dead) of that queue.
ALTER TABLE "job_lease" DROP CONSTRAINT "job_lease_pkey",
ADD CONSTRAINT "job_lease_pkey" PRIMARY KEY ("job_id", "queue");
