CREATE TABLE "audit_events" (
	"session_id" text NOT NULL,
	"seq" integer NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"kind" text NOT NULL,
	"connection_name" text NOT NULL,
	"subject" text NOT NULL,
	"outcome" text,
	"data" jsonb NOT NULL,
	"prev_hash" text NOT NULL,
	"hash" text NOT NULL,
	CONSTRAINT "audit_events_session_id_seq_pk" PRIMARY KEY("session_id","seq")
);
--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "audit_head" text;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "audit_events" integer;--> statement-breakpoint
CREATE INDEX "audit_events_at" ON "audit_events" USING btree ("at");--> statement-breakpoint
CREATE INDEX "audit_events_subject_at" ON "audit_events" USING btree ("subject","at");--> statement-breakpoint
CREATE INDEX "audit_events_connection_at" ON "audit_events" USING btree ("connection_name","at");