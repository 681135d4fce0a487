// What an ACME client hands a hook, reduced to the files dane-hook needs.

/** Where a service's certificate files are on disk (the ACME client's output), as configured. */
export interface CertSource {
  lineage?: string;
  cert?: string;
  chain?: string;
  fullchain?: string;
  key?: string;
}

/**
 * A service's configured certificate file as the renewal check last saw it: what stat said of it
 * (io/file-stamp.ts) and the leaf it held. Kept in the state, so that the periodic run over a
 * thousand unchanged services is a stat each, not a parse each.
 */
export interface CertSeen {
  stamp: string;
  /** sha256 of the leaf's DER, as the state names chains. */
  leafId: string;
}

export type Client = 'certbot' | 'acme.sh' | 'dehydrated' | 'lego' | 'flags';

/** The certificate files of one renewed (or about to be renewed) certificate. Paths are absolute. */
export interface CertFiles {
  client: Client;
  /** The end-entity certificate; with lego (bundled by default) the file also holds the issuer. */
  cert: string;
  chain?: string;
  fullchain?: string;
  key: string;
  /** A pre-generated next key (acme.sh `<domain>.key.next`, dehydrated `privkey.roll.pem`). */
  nextKey?: string;
  /** Names the certificate is for: from the client's environment, then the certificate's SANs. */
  domains: string[];
  /** The directory the files live in when the client keeps one per certificate (certbot, dehydrated). */
  lineage?: string;
  /**
   * acme.sh --pre-hook: nothing is issued yet in this run. cert and key are where acme.sh keeps the
   * current files (absent on a first issue) and were not checked; domains and nextKey are what count.
   */
  pending?: boolean;
}
