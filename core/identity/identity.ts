/** Who is calling, as established from a verified token. */
export interface Identity {
  issuer: string;
  subject: string;
  groups: string[];
  /** Selected claims (e.g. GitHub `repository`, `ref`) for access rules; stringified. */
  attributes: Record<string, string>;
  /** Token expiry, epoch seconds. */
  expiresAt: number;
  tokenId?: string;
}
