-- CreateTable
CREATE TABLE "job_lease" (
    "queue" TEXT NOT NULL,
    "job_id" UUID NOT NULL,
    "retry_count" INTEGER NOT NULL,
    "holder" TEXT NOT NULL,
    "leased_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "job_lease_pkey" PRIMARY KEY ("queue","job_id")
);

-- CreateIndex
CREATE INDEX "job_lease_holder_idx" ON "job_lease"("holder");
