import { cacheExchange, Client, fetchExchange, mapExchange } from "urql";

// The access token lives for the browser tab only (sessionStorage): closing the tab ends
// the portal session on this device; the server's session rules stay in charge.
const TOKEN = "portal.accessToken";
const LANGUAGE = "portal.language";

export function token(): string | null {
  return sessionStorage.getItem(TOKEN);
}
export function setToken(value: string | null): void {
  if (value) sessionStorage.setItem(TOKEN, value);
  else sessionStorage.removeItem(TOKEN);
}
export function storedLanguage(): string | null {
  return localStorage.getItem(LANGUAGE);
}
export function storeLanguage(language: string): void {
  localStorage.setItem(LANGUAGE, language);
}

// One client per language and login: the API localizes refusals by Accept-Language.
// `onEnded`: the API answered 401 (the session was ended: expired, revoked on another
// device, logged out everywhere), so the page goes back to the login form.
export function makeClient(
  language: string,
  accessToken: string | null,
  onEnded: () => void = () => {},
): Client {
  const ended = mapExchange({
    onError(error) {
      const status = (error.response as Response | undefined)?.status;
      const unauthenticated = error.graphQLErrors.some(
        (each) => each.extensions?.code === "UNAUTHENTICATED",
      );
      if (accessToken && (status === 401 || unauthenticated)) onEnded();
    },
  });
  return new Client({
    url: new URL("/graphql", window.location.origin).toString(),
    exchanges: [cacheExchange, ended, fetchExchange],
    requestPolicy: "cache-and-network",
    // The API takes POST only (no queries in URLs, logs or caches).
    preferGetMethod: false,
    fetchOptions: () => ({
      headers: {
        "accept-language": language,
        ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}),
      },
    }),
  });
}
