import { useEffect, useRef, useState, type FormEvent } from "react";
import { Link, useLocation } from "react-router";
import { useMutation, useQuery } from "urql";
import { Field, FormError, refusalAt, refusalOf, type Refusal } from "../errors";
import { graphql } from "../gql";
import type { SecondFactorMethod } from "../gql/graphql";
import { usePortal } from "../portal";
import { Confirm, EnrollTotpDocument, RecoveryCodeList, type Enrollment } from "./Security";

const LoginDocument = graphql(`
  mutation Login($input: LoginInput!) {
    login(input: $input) {
      __typename
      ... on LoggedIn { accessToken }
      ... on SecondFactorRequired { mfaToken enrollmentRequired methods }
      ... on LoginError { code message field }
    }
  }
`);

const VerifyDocument = graphql(`
  mutation VerifyTwoFactor($input: VerifyTwoFactorInput!) {
    verifyTwoFactor(input: $input) {
      __typename
      ... on LoggedIn { accessToken }
      ... on LoginError { code message field }
    }
  }
`);

const SendCodeDocument = graphql(`
  mutation SendLoginCode($input: SendLoginCodeInput!) {
    sendLoginCode(input: $input) {
      __typename
      ... on TwoFactorError { code message field }
    }
  }
`);

const LoginOptionsDocument = graphql(`
  query LoginOptions($input: LoginOptionsInput!) {
    loginOptions(input: $input) { methods }
  }
`);

const RequestLoginCodeDocument = graphql(`
  mutation RequestLoginCode($input: PortalEmailInput!) {
    requestLoginCode(input: $input) {
      __typename
      ... on RequestReceived { message }
      ... on MutationError { code message field }
    }
  }
`);

const LoginWithCodeDocument = graphql(`
  mutation LoginWithCode($input: LoginWithCodeInput!) {
    loginWithCode(input: $input) {
      __typename
      ... on LoggedIn { accessToken }
      ... on SecondFactorRequired { mfaToken enrollmentRequired methods }
      ... on LoginError { code message field }
    }
  }
`);

const StartSsoDocument = graphql(`
  mutation StartSsoLogin($input: StartSsoLoginInput!) {
    startSsoLogin(input: $input) {
      __typename
      ... on SsoLoginStarted { authorizationUrl state }
      ... on SsoError { code message field }
    }
  }
`);

// The state of a started identity-provider login, kept in this tab for its return
// (SsoReturnPage completes only a return that carries the same one).
export const SSO_STATE = "portal.ssoState";

export interface Pending {
  mfaToken: string;
  methods: SecondFactorMethod[];
  enrollmentRequired: boolean;
}

/** Password first (or a mailed code, or an identity provider); then, if the account or
 * portal asks for one, a second factor. */
export function LoginPage() {
  const { portal, t, logIn } = usePortal();
  const arrived = (useLocation().state ?? {}) as { email?: string; notice?: string };
  const [email, setEmail] = useState(arrived.email ?? "");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [withCode, setWithCode] = useState<"no" | "asking" | "sent">("no");
  const [codeMessage, setCodeMessage] = useState<string | null>(null);
  const [refusal, setRefusal] = useState<Refusal | null>(null);
  const [pending, setPending] = useState<Pending | null>(null);
  const [, login] = useMutation(LoginDocument);
  const [, requestCode] = useMutation(RequestLoginCodeDocument);
  const [, loginWithCode] = useMutation(LoginWithCodeDocument);
  const [, startSso] = useMutation(StartSsoDocument);
  // The ways in are the portal's, the same for every address (loginOptions).
  const [options] = useQuery({
    query: LoginOptionsDocument,
    variables: { input: { portalId: portal.id } },
    requestPolicy: "cache-first",
  });
  const codeOffered = options.data?.loginOptions?.methods.includes("EMAIL_CODE") ?? false;
  const fields = ["email", "password", "code"];

  type Answer =
    | { __typename: "LoggedIn"; accessToken: string }
    | ({ __typename: "SecondFactorRequired" } & Pending)
    | { __typename: "LoginError"; message: string; field?: string | null };
  function answered(answer: Answer | undefined, error: Parameters<typeof refusalOf>[0]) {
    if (!answer) setRefusal(refusalOf(error, t.error));
    else if (answer.__typename === "LoggedIn") logIn(answer.accessToken);
    else if (answer.__typename === "SecondFactorRequired") setPending(answer);
    else setRefusal(answer);
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setRefusal(null);
    if (withCode === "no") {
      const result = await login({ input: { email, password, portalId: portal.id } });
      answered(result.data?.login, result.error);
    } else if (withCode === "asking") {
      const result = await requestCode({ input: { portalId: portal.id, email } });
      const answer = result.data?.requestLoginCode;
      if (!answer) setRefusal(refusalOf(result.error, t.error));
      else if (answer.__typename === "MutationError") setRefusal(answer);
      else {
        setCodeMessage(answer.message);
        setWithCode("sent");
      }
    } else {
      const result = await loginWithCode({ input: { portalId: portal.id, email, code } });
      answered(result.data?.loginWithCode, result.error);
    }
  }

  async function provider(slug: string) {
    setRefusal(null);
    const redirectUri = new URL("/portal/login/sso", window.location.origin).toString();
    const result = await startSso({ input: { portalId: portal.id, provider: slug, redirectUri } });
    const answer = result.data?.startSsoLogin;
    if (!answer) setRefusal(refusalOf(result.error, t.error));
    else if (answer.__typename === "SsoError") setRefusal(answer);
    else {
      sessionStorage.setItem(SSO_STATE, answer.state);
      window.location.assign(answer.authorizationUrl);
    }
  }

  if (pending) return <SecondFactor pending={pending} />;
  return (
    <section className="card narrow" aria-labelledby="login-title">
      <h1 id="login-title">{t.login}</h1>
      {portal.texts.login ? <p className="intro">{portal.texts.login}</p> : null}
      {arrived.notice ? (
        <p className="notice" role="status">
          {arrived.notice}
        </p>
      ) : null}
      <form onSubmit={submit} noValidate>
        <Field
          label={t.email}
          name="email"
          type="email"
          autoComplete="username"
          value={email}
          onChange={(value) => {
            setEmail(value);
            if (withCode === "sent") setWithCode("asking");
          }}
          error={refusalAt(refusal, "email", fields)}
          required
        />
        {withCode === "no" ? (
          <Field
            label={t.password}
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={setPassword}
            error={refusalAt(refusal, "password", fields)}
            required
          />
        ) : null}
        {withCode === "sent" ? (
          <>
            {codeMessage ? <p role="status">{codeMessage}</p> : null}
            <Field
              label={t.code}
              name="code"
              autoComplete="one-time-code"
              inputMode="numeric"
              value={code}
              onChange={setCode}
              error={refusalAt(refusal, "code", fields)}
              required
            />
          </>
        ) : null}
        <FormError message={refusalAt(refusal, null, fields)} />
        <button type="submit">
          {withCode === "asking" ? t.sendCode : t.login}
        </button>
      </form>
      <ul className="plain links">
        {withCode === "no" ? (
          <>
            {codeOffered ? (
              <li>
                <button type="button" className="link" onClick={() => setWithCode("asking")}>
                  {t.codeInsteadOfPassword}
                </button>
              </li>
            ) : null}
            <li>
              <Link to="/forgot-password" state={{ email }}>
                {t.forgotPassword}
              </Link>
            </li>
          </>
        ) : (
          <li>
            <button
              type="button"
              className="link"
              onClick={() => {
                setWithCode("no");
                setRefusal(null);
              }}
            >
              {t.passwordInstead}
            </button>
          </li>
        )}
        {portal.selfRegistration !== "DENY" || portal.registrationLink ? (
          <li>
            {t.noAccessYet}{" "}
            {portal.registrationLink ? (
              <a href={portal.registrationLink}>{t.register}</a>
            ) : (
              <Link to="/register">{t.register}</Link>
            )}
          </li>
        ) : null}
      </ul>
      {portal.identityProviders.length ? (
        <div className="providers" role="group" aria-labelledby="providers-title">
          <p id="providers-title">{t.providers}</p>
          {portal.identityProviders.map((each) => (
            <button
              key={each.slug}
              type="button"
              className="secondary"
              onClick={() => provider(each.slug)}
            >
              {each.name}
            </button>
          ))}
        </div>
      ) : null}
    </section>
  );
}

export function SecondFactor({ pending }: { pending: Pending }) {
  const methods = pending.methods.filter((method) => method !== "ENROLL_TOTP");
  // A portal that requires a second factor of a user without one: set it up now (or,
  // where the portal allows it, a mailed code instead, this once).
  const [enrolling, setEnrolling] = useState(pending.methods.includes("ENROLL_TOTP"));
  if (enrolling)
    return (
      <Enrolment
        mfaToken={pending.mfaToken}
        onInstead={methods.length ? () => setEnrolling(false) : null}
      />
    );
  return (
    <SecondFactorCode
      pending={pending}
      methods={methods}
      onEnrol={pending.enrollmentRequired ? () => setEnrolling(true) : null}
    />
  );
}

/** Enrolment a login requires: the authenticator app's QR code and secret, a first code
 * to confirm it, the recovery codes once; then the user is logged in. */
function Enrolment({ mfaToken, onInstead }: { mfaToken: string; onInstead: (() => void) | null }) {
  const { t, logIn } = usePortal();
  const [enrollment, setEnrollment] = useState<Enrollment | null>(null);
  const [done, setDone] = useState<{ codes: string[]; accessToken: string | null } | null>(null);
  const [refusal, setRefusal] = useState<Refusal | null>(null);
  const [, enroll] = useMutation(EnrollTotpDocument);
  const started = useRef(false);

  useEffect(() => {
    // Once: a second enrolment would replace the secret the page shows.
    if (started.current) return;
    started.current = true;
    (async () => {
      const result = await enroll({ input: { mfaToken } });
      const answer = result.data?.enrollTotp;
      if (!answer) setRefusal(refusalOf(result.error, t.error));
      else if (answer.__typename === "TotpEnrollment") setEnrollment(answer);
      else setRefusal(answer);
    })();
  }, [enroll, mfaToken, t.error]);

  return (
    <section className="card narrow" aria-labelledby="enrolment-title">
      <h1 id="enrolment-title">{t.enrollStart}</h1>
      {done ? (
        <RecoveryCodeList
          codes={done.codes}
          Heading="h2"
          onDone={() => (done.accessToken ? logIn(done.accessToken) : setDone(null))}
        />
      ) : (
        <>
          <p>{t.enrollmentRequired}</p>
          <FormError message={refusal?.message ?? null} />
          {enrollment ? (
            <Confirm
              enrollment={enrollment}
              mfaToken={mfaToken}
              onConfirmed={(codes, accessToken) => setDone({ codes, accessToken })}
            />
          ) : refusal ? null : (
            <p>{t.loading}</p>
          )}
          {onInstead ? (
            <p>
              <button type="button" className="link" onClick={onInstead}>
                {t.method_EMAIL_CODE}
              </button>
            </p>
          ) : null}
        </>
      )}
    </section>
  );
}

function SecondFactorCode({
  pending,
  methods,
  onEnrol,
}: {
  pending: Pending;
  methods: SecondFactorMethod[];
  onEnrol: (() => void) | null;
}) {
  const { t, logIn } = usePortal();
  const [method, setMethod] = useState<SecondFactorMethod>(methods[0] ?? "TOTP");
  const [code, setCode] = useState("");
  const [refusal, setRefusal] = useState<Refusal | null>(null);
  const [sent, setSent] = useState(false);
  const [, verify] = useMutation(VerifyDocument);
  const [, sendCode] = useMutation(SendCodeDocument);
  const fields = ["code"];

  async function submit(event: FormEvent) {
    event.preventDefault();
    setRefusal(null);
    const result = await verify({ input: { mfaToken: pending.mfaToken, code } });
    const answer = result.data?.verifyTwoFactor;
    if (!answer) setRefusal({ message: t.error });
    else if (answer.__typename === "LoggedIn") logIn(answer.accessToken);
    else setRefusal(answer);
  }

  async function mailCode() {
    setRefusal(null);
    const result = await sendCode({ input: { mfaToken: pending.mfaToken } });
    const answer = result.data?.sendLoginCode;
    if (!answer) setRefusal({ message: t.error });
    else if (answer.__typename === "TwoFactorError") setRefusal(answer);
    else setSent(true);
  }

  return (
    <section className="card narrow" aria-labelledby="second-factor-title">
      <h1 id="second-factor-title">{t.secondFactor}</h1>
      <form onSubmit={submit} noValidate>
        <fieldset className="methods">
          <legend>{t.secondFactor}</legend>
          {methods.map((each) => (
            <label key={each} className="choice">
              <input
                type="radio"
                name="method"
                value={each}
                checked={method === each}
                onChange={() => {
                  setMethod(each);
                  setCode("");
                }}
              />
              {t[`method_${each}` as "method_TOTP"]}
            </label>
          ))}
        </fieldset>
        {method === "EMAIL_CODE" ? (
          <p>
            <button type="button" className="secondary" onClick={mailCode}>
              {t.sendCode}
            </button>
            {sent ? <span role="status"> {t.codeSent}</span> : null}
          </p>
        ) : null}
        <Field
          label={t.code}
          name="code"
          autoComplete="one-time-code"
          inputMode={method === "RECOVERY_CODE" ? "text" : "numeric"}
          value={code}
          onChange={setCode}
          error={refusalAt(refusal, "code", fields)}
          required
        />
        <FormError message={refusalAt(refusal, null, fields)} />
        <button type="submit">{t.confirm}</button>
      </form>
      {onEnrol ? (
        <p>
          <button type="button" className="link" onClick={onEnrol}>
            {t.enrollStart}
          </button>
        </p>
      ) : null}
    </section>
  );
}
