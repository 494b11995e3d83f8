import { useCallback, useEffect, useMemo, useState } from "react";
import { BrowserRouter, Navigate, NavLink, Route, Routes } from "react-router";
import { Provider, useMutation } from "urql";
import { graphql } from "./gql";
import { labels } from "./i18n";
import { accountRoutes } from "./pages/Account";
import { ContractPage, ContractsPage } from "./pages/Contracts";
import { DocumentsPage } from "./pages/Documents";
import { HomePage } from "./pages/Home";
import { LoginPage } from "./pages/Login";
import { MyDataPage } from "./pages/MyData";
import { ChangesPage } from "./pages/Changes";
import { ProcessesPage, ProcessPage } from "./pages/Processes";
import { SecurityPage } from "./pages/Security";
import {
  PortalContext,
  portalDomains,
  PublicPortalDocument,
  usePortal,
  type PortalContextValue,
  type PublicPortal,
} from "./portal";
import { makeClient, setToken, storedLanguage, storeLanguage, token } from "./session";

const LogoutDocument = graphql(`
  mutation Logout {
    logout { revokedSessions }
  }
`);

/** Finds the portal of this host, then shows its pages in its design and language. */
export function App() {
  const [language, setLanguageState] = useState<string>(
    storedLanguage() ?? (navigator.language.startsWith("en") ? "en" : "de"),
  );
  const [accessToken, setAccessToken] = useState<string | null>(token());
  const [portal, setPortal] = useState<PublicPortal | null | undefined>(undefined);
  const client = useMemo(
    () =>
      makeClient(language, accessToken, () => {
        setToken(null);
        setAccessToken(null);
      }),
    [language, accessToken],
  );

  useEffect(() => {
    let cancelled = false;
    (async () => {
      for (const domain of portalDomains()) {
        const result = await client
          .query(PublicPortalDocument, { domain, language }, { requestPolicy: "network-only" })
          .toPromise();
        if (result.data?.publicPortal) {
          if (!cancelled) setPortal(result.data.publicPortal);
          return;
        }
      }
      if (!cancelled) setPortal(null);
    })();
    return () => {
      cancelled = true;
    };
  }, [client, language]);

  const effectiveLanguage =
    portal && !portal.languages.includes(language) ? portal.defaultLanguage : language;

  useEffect(() => {
    document.documentElement.lang = effectiveLanguage;
    if (!portal) return;
    document.title = portal.name;
    const style = document.documentElement.style;
    style.setProperty("--primary", portal.design.primaryColor);
    style.setProperty("--secondary", portal.design.secondaryColor);
    style.setProperty("--background", portal.design.backgroundColor);
    style.setProperty("--font", `${portal.design.font}, system-ui, sans-serif`);
  }, [portal, effectiveLanguage]);

  const setLanguage = useCallback((next: string) => {
    storeLanguage(next);
    setLanguageState(next);
  }, []);
  const logIn = useCallback((value: string) => {
    setToken(value);
    setAccessToken(value);
  }, []);
  const logOut = useCallback(() => {
    setToken(null);
    setAccessToken(null);
  }, []);

  const t = labels(effectiveLanguage);
  if (portal === undefined) return <p className="center">{t.loading}</p>;
  if (portal === null) return <p className="center" role="alert">{t.noPortal}</p>;
  const value: PortalContextValue = {
    portal,
    language: effectiveLanguage,
    t,
    setLanguage,
    loggedIn: accessToken !== null,
    logIn,
    logOut,
  };
  return (
    <PortalContext.Provider value={value}>
      <Provider value={client}>
        <BrowserRouter basename="/portal">
          <Layout />
        </BrowserRouter>
      </Provider>
    </PortalContext.Provider>
  );
}

const UpdateLanguageDocument = graphql(`
  mutation UpdateLanguage($input: UpdateLanguageInput!) {
    updateLanguage(input: $input) {
      __typename
    }
  }
`);

/** The page's language; for a logged-in user also the account's (`updateLanguage`), in
 * which the API answers her before the page's Accept-Language. */
function LanguageChoice() {
  const { portal, language, setLanguage, t, loggedIn } = usePortal();
  const [, updateLanguage] = useMutation(UpdateLanguageDocument);
  if (portal.languages.length < 2) return null;
  async function choose(next: string) {
    // Saved first, so what the pages ask next is answered in it; the page follows even
    // when the account cannot take it (e.g. an impersonation).
    if (loggedIn) await updateLanguage({ input: { language: next } });
    setLanguage(next);
  }
  return (
    <label className="language">
      <span>{t.language}</span>
      <select value={language} onChange={(event) => void choose(event.target.value)}>
        {portal.languages.map((code) => (
          <option key={code} value={code}>
            {code.toUpperCase()}
          </option>
        ))}
      </select>
    </label>
  );
}

function Layout() {
  const { portal, t, loggedIn, logOut } = usePortal();
  const [, logout] = useMutation(LogoutDocument);
  return (
    <>
      <a className="skip" href="#main">
        {t.skip}
      </a>
      <header className="top">
        <div className="brand">
          {portal.design.logoUrl ? <img src={portal.design.logoUrl} alt="" /> : null}
          <span>{portal.name}</span>
        </div>
        <LanguageChoice />
        {loggedIn ? (
          <button
            type="button"
            className="secondary"
            onClick={async () => {
              await logout({});
              logOut();
            }}
          >
            {t.logout}
          </button>
        ) : null}
      </header>
      {loggedIn ? (
        <nav aria-label={t.navigation} className="nav">
          <NavLink to="/" end>
            {t.home}
          </NavLink>
          <NavLink to="/contracts">{t.contracts}</NavLink>
          <NavLink to="/documents">{t.documents}</NavLink>
          <NavLink to="/my-data">{t.myData}</NavLink>
          <NavLink to="/changes">{t.changes}</NavLink>
          <NavLink to="/processes">{t.processes}</NavLink>
          <NavLink to="/security">{t.security}</NavLink>
        </nav>
      ) : null}
      <main id="main" tabIndex={-1}>
        {loggedIn ? (
          <Routes>
            {accountRoutes(true)}
            <Route path="/" element={<HomePage />} />
            <Route path="/contracts" element={<ContractsPage />} />
            <Route path="/contracts/:id" element={<ContractPage />} />
            <Route path="/documents" element={<DocumentsPage />} />
            <Route path="/my-data" element={<MyDataPage />} />
            <Route path="/changes" element={<ChangesPage />} />
            <Route path="/processes" element={<ProcessesPage />} />
            <Route path="/processes/:id" element={<ProcessPage />} />
            <Route path="/security" element={<SecurityPage />} />
            <Route path="/login/*" element={<Navigate to="/" replace />} />
            <Route path="*" element={<p>{t.notFound}</p>} />
          </Routes>
        ) : (
          <Routes>
            {accountRoutes(false)}
            <Route path="*" element={<LoginPage />} />
          </Routes>
        )}
      </main>
      <footer className="footer">
        {portal.termsUrl ? <a href={portal.termsUrl}>{t.terms}</a> : null}
        {portal.privacyUrl ? <a href={portal.privacyUrl}>{t.privacy}</a> : null}
      </footer>
    </>
  );
}
