-- Sessions record their connection's protocol (issue 11 gap 2): `postern sessions replay` plays an
-- SSH session's recording because its record says ssh. Rows written before this migration had no
-- protocol and default to 'postgres' (the only protocol before issue 11); hand-written: those whose
-- connection still exists and is an SSH one are set to 'ssh' (a connection's protocol never changes).
ALTER TABLE "sessions" ADD COLUMN "protocol" text DEFAULT 'postgres' NOT NULL;--> statement-breakpoint
UPDATE "sessions" SET "protocol" = 'ssh' FROM "connections" WHERE "connections"."id" = "sessions"."connection_id" AND "connections"."protocol" = 'ssh';--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_protocol" CHECK ("sessions"."protocol" IN ('postgres', 'ssh', 'kubernetes'));
