import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** An OAuth 2.0 client (RFC 6749 §2): confidential with a hashed secret, or public with none. */
@Entity('clients')
export class Client {
  /** The `client_id` on the wire. */
  @PrimaryColumn({ type: 'varchar', length: 128, primaryKeyConstraintName: 'clients_pkey' })
  id!: string;

  @Column({ type: 'varchar', length: 200 })
  name!: string;

  /** SHA-256 of the client secret; null for public clients. */
  @Column({ type: 'bytea', nullable: true })
  secretHash!: Buffer | null;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  grantTypes!: string[];

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  redirectUris!: string[];

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  scopes!: string[];

  /** Where RP-initiated logout may send the browser back to (exact match, like redirectUris). */
  @Column({ type: 'text', array: true, default: () => "'{}'" })
  postLogoutRedirectUris!: string[];

  @Column({ type: 'boolean', default: false })
  firstParty!: boolean;

  /** Third-party clients ask the user's consent (remembered per client and scopes); first-party never. */
  @Column({ type: 'boolean', default: true })
  requireConsent!: boolean;

  /** Authorization requests without `state` are refused (PKCE is required of every client anyway). */
  @Column({ type: 'boolean', default: false })
  requireState!: boolean;

  /** A resource server (RFC 7662 §2.1): the only kind of client that may introspect tokens. */
  @Column({ type: 'boolean', default: false })
  resourceServer!: boolean;

  /** A resource server's resource indicator (RFC 8707): the `aud` of tokens minted for it. */
  @Index('clients_audience_key', { unique: true, where: '"audience" IS NOT NULL' })
  @Column({ type: 'varchar', length: 512, nullable: true })
  audience!: string | null;

  /**
   * OpenID Connect Back-Channel Logout 1.0: where logout tokens are POSTed when a session this client
   * received tokens in ends; null: none are sent. Checked by the SSRF guard when registered and at
   * every delivery.
   */
  @Column({ type: 'text', nullable: true })
  backchannelLogoutUri!: string | null;

  /** The client wants `sid` in its logout tokens (Gatehouse always sends it). */
  @Column({ type: 'boolean', default: false })
  backchannelLogoutSessionRequired!: boolean;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
