-- Issue 14: a session renews lease_until while it runs, so one that died without a goodbye is
-- reported ended (reason unknown) once its lease has run out (core/session-host/liveness.ts);
-- refusals counts its refused requests (the console's "with refusals" filter); an approval
-- request names the policies that held it.
ALTER TABLE "approval_requests" ADD COLUMN "policies" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "lease_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "refusals" integer DEFAULT 0 NOT NULL;