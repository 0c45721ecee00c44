CREATE TABLE "connections" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"protocol" text DEFAULT 'postgres' NOT NULL,
	"connector_id" text NOT NULL,
	"target_host" text NOT NULL,
	"target_port" integer NOT NULL,
	"target_tls" text DEFAULT 'disable' NOT NULL,
	"database" text NOT NULL,
	"username" text NOT NULL,
	"credential_kind" text NOT NULL,
	"credential_key_id" text,
	"credential_ciphertext" text,
	"credential_ref" text,
	"allow_subjects" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"allow_groups" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "connections_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "connectors" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"token_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp with time zone,
	CONSTRAINT "connectors_name_unique" UNIQUE("name"),
	CONSTRAINT "connectors_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE TABLE "sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"connection_id" text NOT NULL,
	"connection_name" text NOT NULL,
	"connector_id" text NOT NULL,
	"issuer" text NOT NULL,
	"subject" text NOT NULL,
	"groups" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"client_application" text,
	"started_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone,
	"close_reason" text,
	"bytes_from_client" bigint DEFAULT 0 NOT NULL,
	"bytes_to_client" bigint DEFAULT 0 NOT NULL,
	"statements" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
ALTER TABLE "connections" ADD CONSTRAINT "connections_connector_id_connectors_id_fk" FOREIGN KEY ("connector_id") REFERENCES "public"."connectors"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "sessions_connection_started" ON "sessions" USING btree ("connection_id","started_at");--> statement-breakpoint
CREATE INDEX "sessions_subject_started" ON "sessions" USING btree ("subject","started_at");