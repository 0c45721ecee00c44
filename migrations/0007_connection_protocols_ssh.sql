ALTER TABLE "connections" ALTER COLUMN "target_tls" SET DEFAULT 'none';--> statement-breakpoint
ALTER TABLE "connections" ALTER COLUMN "database" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "connections" ALTER COLUMN "username" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "credential_secret_kind" text DEFAULT 'password' NOT NULL;--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "ssh_host_key_key_id" text;--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "ssh_host_key_ciphertext" text;--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "ssh_host_public_keys" jsonb;--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "ssh_target_host_key" text;--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "ssh_target_host_key_learned_at" timestamp with time zone;--> statement-breakpoint
-- Hand-written (issue 11): rows written before this migration used libpq sslmode names;
-- rewrite them to the transport names before the CHECK below refuses the old ones.
UPDATE "connections" SET "target_tls" = 'none' WHERE "target_tls" = 'disable';--> statement-breakpoint
UPDATE "connections" SET "target_tls" = 'postgres-starttls' WHERE "target_tls" = 'verify-full';--> statement-breakpoint
ALTER TABLE "connections" ADD CONSTRAINT "connections_protocol" CHECK ("connections"."protocol" IN ('postgres', 'ssh'));--> statement-breakpoint
ALTER TABLE "connections" ADD CONSTRAINT "connections_target_tls" CHECK ("connections"."target_tls" IN ('none', 'tls', 'postgres-starttls'));--> statement-breakpoint
ALTER TABLE "connections" ADD CONSTRAINT "connections_secret_kind" CHECK ("connections"."credential_secret_kind" IN ('password', 'private_key'));