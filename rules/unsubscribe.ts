import type { SignedTokens } from '../config/signed-tokens';

/** What an unsubscribe link revokes: email consent of one customer for one topic. */
export interface UnsubscribeTarget {
  customerId: string;
  channel: 'email';
  topic: string;
}

/**
 * Marks the token's kind. Tracked links are signed with the same secret; without this, a valid
 * token made for another purpose could be replayed here.
 */
const PURPOSE = 'unsubscribe';

/**
 * Unsubscribe links for marketing email: `${publicUrl}/u/<token>`, the token a SignedTokens
 * signature over the customer, channel and topic. The link needs no login and cannot be edited
 * to unsubscribe someone else. It does not expire: an old email's link must keep working.
 */
export class UnsubscribeLinks {
  constructor(
    private readonly tokens: SignedTokens,
    private readonly publicUrl: string,
  ) {}

  url(customerId: string, topic: string): string {
    const token = this.tokens.sign({ purpose: PURPOSE, customerId, channel: 'email', topic });
    return `${this.publicUrl}/u/${token}`;
  }

  /** The target of a token, or null when it is not a genuine unsubscribe token of ours. */
  read(token: string): UnsubscribeTarget | null {
    const payload = this.tokens.verify(token);
    if (!payload || payload.purpose !== PURPOSE || payload.channel !== 'email') return null;
    const { customerId, topic } = payload;
    if (typeof customerId !== 'string' || customerId === '' || typeof topic !== 'string' || topic === '') {
      return null;
    }
    return { customerId, channel: 'email', topic };
  }
}
