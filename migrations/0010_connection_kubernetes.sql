-- Kubernetes connections (issue 12): the cluster CA and the impersonation flag, kube secret kinds
-- (a bearer token or a client certificate), tied to protocol 'kubernetes' by connections_kubernetes.
-- The journal's "when" is after 0009's hand-set one: drizzle's migrator skips a migration whose
-- "when" is not later than the last applied.
ALTER TABLE "connections" DROP CONSTRAINT "connections_secret_kind";--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "kube_ca" text;--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "kube_impersonate" boolean;--> statement-breakpoint
ALTER TABLE "connections" ADD CONSTRAINT "connections_kubernetes" CHECK (("connections"."protocol" = 'kubernetes') = ("connections"."kube_impersonate" IS NOT NULL) AND ("connections"."protocol" = 'kubernetes' OR "connections"."kube_ca" IS NULL) AND ("connections"."protocol" = 'kubernetes') = ("connections"."credential_secret_kind" IN ('bearer_token', 'client_certificate')));--> statement-breakpoint
ALTER TABLE "connections" ADD CONSTRAINT "connections_secret_kind" CHECK ("connections"."credential_secret_kind" IN ('password', 'private_key', 'bearer_token', 'client_certificate'));