/** What is live on a token's authority (sockets, subscriptions over HTTP), for revocation and expiry. */
export interface TokenSessions {
  /** Tokens that something live was opened with. */
  tokenIds(): string[];
  /** Ends what the token opened when it expires (its expiry changed). */
  expireTokenAt(tokenId: string, expiresAt: Date | null): void;
  /** Ends at once what the token opened (it was revoked or expired); how many. */
  endForToken(tokenId: string, reason: string): number;
}
