/**
 * The control-plane database (Neon Postgres in production). The single source of truth for its
 * shape: `npm run db:generate` turns changes into SQL in migrations/. See docs/storage.md.
 */
import { bigint, index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

export const connectors = pgTable('connectors', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  /** SHA-256 hex of the connector token; the token itself is shown once and never stored. */
  tokenHash: text('token_hash').notNull().unique(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  lastSeenAt: timestamp('last_seen_at', { withTimezone: true }),
});

export const connections = pgTable('connections', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  protocol: text('protocol').notNull().default('postgres'),
  connectorId: text('connector_id')
    .notNull()
    .references(() => connectors.id, { onDelete: 'restrict' }),
  targetHost: text('target_host').notNull(),
  targetPort: integer('target_port').notNull(),
  targetTls: text('target_tls').notNull().default('disable'),
  database: text('database').notNull(),
  username: text('username').notNull(),
  /** 'encrypted' (ciphertext below) or 'connector_ref' (resolved by the connector). */
  credentialKind: text('credential_kind').notNull(),
  credentialKeyId: text('credential_key_id'),
  credentialCiphertext: text('credential_ciphertext'),
  credentialRef: text('credential_ref'),
  /** Interim access rule until Cedar policies: these subjects and groups may connect. */
  allowSubjects: jsonb('allow_subjects').$type<string[]>().notNull().default([]),
  allowGroups: jsonb('allow_groups').$type<string[]>().notNull().default([]),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

export const sessions = pgTable(
  'sessions',
  {
    /** The SessionDO id. */
    id: text('id').primaryKey(),
    connectionId: text('connection_id').notNull(),
    connectionName: text('connection_name').notNull(),
    connectorId: text('connector_id').notNull(),
    issuer: text('issuer').notNull(),
    subject: text('subject').notNull(),
    groups: jsonb('groups').$type<string[]>().notNull().default([]),
    clientApplication: text('client_application'),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
    endedAt: timestamp('ended_at', { withTimezone: true }),
    closeReason: text('close_reason'),
    bytesFromClient: bigint('bytes_from_client', { mode: 'number' }).notNull().default(0),
    bytesToClient: bigint('bytes_to_client', { mode: 'number' }).notNull().default(0),
    statements: integer('statements').notNull().default(0),
  },
  (t) => [
    index('sessions_connection_started').on(t.connectionId, t.startedAt),
    index('sessions_subject_started').on(t.subject, t.startedAt),
  ],
);
