-- Every running gateway instance, with a heartbeat: an instance not heard from
-- within its own dead_after_seconds is dead, and any other instance takes back
-- the jobs its workers held.
CREATE TABLE "gateway_instance" (
    "id" TEXT NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "dead_after_seconds" INTEGER NOT NULL,

    CONSTRAINT "gateway_instance_pkey" PRIMARY KEY ("id")
);
