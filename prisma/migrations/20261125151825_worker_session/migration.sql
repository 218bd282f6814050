-- CreateTable
CREATE TABLE "worker_session" (
    "id" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "instance_id" TEXT NOT NULL,
    "holder" TEXT NOT NULL,
    "queues" TEXT[],
    "concurrency" INTEGER NOT NULL,
    "connected_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "worker_session_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "worker_session_tenant_id_idx" ON "worker_session"("tenant_id");
