CREATE TABLE "access_grants" (
	"id" text PRIMARY KEY NOT NULL,
	"connection_id" text NOT NULL,
	"connection_name" text NOT NULL,
	"principal_issuer" text NOT NULL,
	"principal_subject" text NOT NULL,
	"action" text NOT NULL,
	"reason" text NOT NULL,
	"request_id" text,
	"approved_by" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"revoked_at" timestamp with time zone,
	"revoked_by" jsonb
);
--> statement-breakpoint
CREATE TABLE "approval_requests" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"status" text NOT NULL,
	"connection_id" text NOT NULL,
	"connection_name" text NOT NULL,
	"session_id" text,
	"requester_issuer" text NOT NULL,
	"requester_subject" text NOT NULL,
	"statement" text,
	"fingerprint" text,
	"action" text NOT NULL,
	"resource" text NOT NULL,
	"reason" text NOT NULL,
	"approver_group" text NOT NULL,
	"min_approvals" integer NOT NULL,
	"duration_seconds" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"decided_at" timestamp with time zone,
	"scope" text,
	"grant_id" text
);
--> statement-breakpoint
CREATE TABLE "approval_votes" (
	"request_id" text NOT NULL,
	"approver_issuer" text NOT NULL,
	"approver_subject" text NOT NULL,
	"decision" text NOT NULL,
	"reason" text,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "approval_votes_request_id_approver_issuer_approver_subject_pk" PRIMARY KEY("request_id","approver_issuer","approver_subject")
);
--> statement-breakpoint
CREATE TABLE "grant_sessions" (
	"grant_id" text NOT NULL,
	"session_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "grant_sessions_grant_id_session_id_pk" PRIMARY KEY("grant_id","session_id")
);
--> statement-breakpoint
CREATE TABLE "shape_approvals" (
	"id" text PRIMARY KEY NOT NULL,
	"connection_id" text NOT NULL,
	"connection_name" text NOT NULL,
	"requester_issuer" text NOT NULL,
	"requester_subject" text NOT NULL,
	"fingerprint" text NOT NULL,
	"statement" text,
	"approver_group" text NOT NULL,
	"approvals" integer NOT NULL,
	"policy_set" text NOT NULL,
	"request_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"revoked_at" timestamp with time zone,
	"revoked_by" jsonb
);
--> statement-breakpoint
CREATE TABLE "webhooks" (
	"id" text PRIMARY KEY NOT NULL,
	"connection_id" text,
	"url" text NOT NULL,
	"format" text NOT NULL,
	"secret_key_id" text NOT NULL,
	"secret_ciphertext" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "access_grants_principal" ON "access_grants" USING btree ("connection_id","principal_subject","expires_at");--> statement-breakpoint
CREATE INDEX "approval_requests_status_created" ON "approval_requests" USING btree ("status","created_at");--> statement-breakpoint
CREATE INDEX "approval_requests_connection_created" ON "approval_requests" USING btree ("connection_name","created_at");--> statement-breakpoint
CREATE INDEX "shape_approvals_lookup" ON "shape_approvals" USING btree ("connection_id","requester_subject","fingerprint");