CREATE TABLE "user_job_counts" (
	"owner_sub" text PRIMARY KEY NOT NULL,
	"stored_jobs" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
-- Counts of the jobs already stored, so existing users start at the right number.
INSERT INTO "user_job_counts" ("owner_sub", "stored_jobs") SELECT "owner_sub", count(*)::int FROM "jobs" GROUP BY "owner_sub";
