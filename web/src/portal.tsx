import { createContext, useContext } from "react";
import { graphql } from "./gql";
import type { PublicPortalQuery } from "./gql/graphql";
import { labels, type Labels } from "./i18n";

// What the login page and every other page show of the portal, by the browser's host.
export const PublicPortalDocument = graphql(`
  query PublicPortal($domain: Line!, $language: Line) {
    publicPortal(domain: $domain, language: $language) {
      id
      name
      language
      languages
      defaultLanguage
      design { primaryColor secondaryColor backgroundColor font logoUrl }
      texts { login home }
      termsUrl
      privacyUrl
      selfRegistration
      registrationLink
      identifiers { key label }
      texts { registration activation passwordForgotten privacy marketingConsent }
      identityProviders { slug name }
      passwordPolicy { minLength maxLength }
    }
  }
`);

export type PublicPortal = NonNullable<PublicPortalQuery["publicPortal"]>;

export interface PortalContextValue {
  portal: PublicPortal;
  language: string;
  t: Labels;
  setLanguage: (language: string) => void;
  loggedIn: boolean;
  logIn: (accessToken: string) => void;
  logOut: () => void;
}

export const PortalContext = createContext<PortalContextValue | null>(null);

export function usePortal(): PortalContextValue {
  const value = useContext(PortalContext);
  if (!value) throw new Error("usePortal outside the portal");
  return value;
}

export function useLabels(): Labels {
  return usePortal().t;
}

export { labels };

/** The domain to ask publicPortal for: the host, or the one the server names for a
 * host no portal has (development on 127.0.0.1). */
export function portalDomains(): string[] {
  const local = document
    .querySelector('meta[name="portal-local-domain"]')
    ?.getAttribute("content");
  return [window.location.hostname, ...(local ? [local] : [])];
}
