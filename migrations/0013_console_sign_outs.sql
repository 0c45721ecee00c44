-- Issue 14: sign-out that holds. The console cookie is a stateless JWE; a session signed out
-- before its expiry (by its session id's hash), or every session of a person signed out
-- everywhere, is refused by every route that takes the cookie (workers/console/browser-session.ts).
-- Rows are pruned once the cookies they refuse have expired.
CREATE TABLE "console_person_sign_outs" (
	"issuer" text NOT NULL,
	"subject" text NOT NULL,
	"signed_out_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "console_person_sign_outs_issuer_subject_pk" PRIMARY KEY("issuer","subject")
);
--> statement-breakpoint
CREATE TABLE "console_sign_outs" (
	"sid_hash" text PRIMARY KEY NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "console_person_sign_outs_expires_at" ON "console_person_sign_outs" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "console_sign_outs_expires_at" ON "console_sign_outs" USING btree ("expires_at");