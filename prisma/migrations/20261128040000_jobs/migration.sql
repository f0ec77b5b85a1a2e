-- Fine-tune jobs (server-side record of each BullMQ job: status, progress, the run it reports to) and
-- the job workers seen through their heartbeats. BullMQ's own tables live in the "bullmq" schema.

CREATE TYPE "JobStatus" AS ENUM ('queued', 'running', 'succeeded', 'failed', 'cancelled');

CREATE TABLE "fine_tune_jobs" (
    "id" UUID NOT NULL,
    "project_id" UUID NOT NULL,
    "created_by_id" UUID NOT NULL,
    "run_name" VARCHAR(200) NOT NULL,
    "run_id" VARCHAR(64),
    "status" "JobStatus" NOT NULL DEFAULT 'queued',
    "device" VARCHAR(16) NOT NULL,
    "spec" JSONB NOT NULL DEFAULT '{}',
    "progress" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "step" INTEGER NOT NULL DEFAULT 0,
    "total_steps" INTEGER,
    "eta_seconds" INTEGER,
    "error" TEXT,
    "worker_id" VARCHAR(200),
    "api_key_id" UUID,
    "cancel_requested_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    CONSTRAINT "fine_tune_jobs_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "fine_tune_jobs_project_id_created_at_idx" ON "fine_tune_jobs"("project_id", "created_at");
CREATE INDEX "fine_tune_jobs_status_idx" ON "fine_tune_jobs"("status");

CREATE TABLE "job_workers" (
    "id" VARCHAR(200) NOT NULL,
    "heartbeat" JSONB NOT NULL DEFAULT '{}',
    "last_heartbeat_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "job_workers_pkey" PRIMARY KEY ("id")
);

ALTER TABLE "fine_tune_jobs" ADD CONSTRAINT "fine_tune_jobs_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;
