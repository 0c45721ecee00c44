ALTER TABLE "sessions" ADD COLUMN "replica_id" text;--> statement-breakpoint
CREATE INDEX "sessions_connection_name_started" ON "sessions" USING btree ("connection_name","started_at");