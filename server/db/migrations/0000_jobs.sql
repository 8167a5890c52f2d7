CREATE TABLE "jobs" (
	"id" text PRIMARY KEY NOT NULL,
	"owner_sub" text NOT NULL,
	"status" text NOT NULL,
	"batch_id" text,
	"created_at" timestamp(3) with time zone NOT NULL,
	"updated_at" timestamp(3) with time zone NOT NULL,
	"record" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "revoked_tokens" (
	"jti" text PRIMARY KEY NOT NULL,
	"owner_sub" text NOT NULL,
	"expires_at" timestamp(3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "session_cutoffs" (
	"owner_sub" text PRIMARY KEY NOT NULL,
	"not_before" timestamp(3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "jobs_owner_history" ON "jobs" USING btree ("owner_sub","created_at","id");--> statement-breakpoint
CREATE INDEX "jobs_unfinished" ON "jobs" USING btree ("owner_sub") WHERE "jobs"."status" in ('queued', 'running');--> statement-breakpoint
CREATE INDEX "revoked_tokens_expiry" ON "revoked_tokens" USING btree ("expires_at");