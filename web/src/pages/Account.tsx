// The pages before and around a login that mails link to (gql/domain/portal_mail.py
// `page_link`): registration, activation, forgotten and reset password, an invitation,
// a changed login email, and the return from an identity provider.
import { useEffect, useRef, useState, type FormEvent, type ReactNode } from "react";
import { Link, Navigate, Route, useLocation, useNavigate, useSearchParams } from "react-router";
import { useMutation } from "urql";
import { Check, Field, FormError, refusalAt, refusalOf, type Refusal } from "../errors";
import { graphql } from "../gql";
import { usePortal } from "../portal";
import { SecondFactor, SSO_STATE, type Pending } from "./Login";

const RegisterDocument = graphql(`
  mutation Register($input: RegisterInput!) {
    register(input: $input) {
      __typename
      ... on RequestReceived { message }
      ... on MutationError { code message field }
    }
  }
`);

const ActivateDocument = graphql(`
  mutation ActivateAccount($input: TokenInput!) {
    activateAccount(input: $input) {
      __typename
      ... on AccountActivated { email canLogIn }
      ... on MutationError { code message field }
    }
  }
`);

const RequestResetDocument = graphql(`
  mutation RequestPasswordReset($input: PortalEmailInput!) {
    requestPasswordReset(input: $input) {
      __typename
      ... on RequestReceived { message }
      ... on MutationError { code message field }
    }
  }
`);

const ResendActivationDocument = graphql(`
  mutation ResendActivation($input: PortalEmailInput!) {
    resendActivation(input: $input) {
      __typename
      ... on RequestReceived { message }
      ... on MutationError { code message field }
    }
  }
`);

const ResetDocument = graphql(`
  mutation ResetPassword($input: TokenPasswordInput!) {
    resetPassword(input: $input) {
      __typename
      ... on PasswordReset { email }
      ... on MutationError { code message field }
    }
  }
`);

const AcceptInvitationDocument = graphql(`
  mutation AcceptInvitation($input: TokenPasswordInput!) {
    acceptInvitation(input: $input) {
      __typename
      ... on AccountActivated { email canLogIn }
      ... on MutationError { code message field }
    }
  }
`);

const ConfirmEmailDocument = graphql(`
  mutation ConfirmEmailChange($input: ConfirmEmailChangeInput!) {
    confirmEmailChange(input: $input) {
      __typename
      ... on EmailChangeConfirmed { email }
      ... on MutationError { code message field }
    }
  }
`);

const CompleteSsoDocument = graphql(`
  mutation CompleteSsoLogin($input: CompleteSsoLoginInput!) {
    completeSsoLogin(input: $input) {
      __typename
      ... on LoggedIn { accessToken }
      ... on SecondFactorRequired { mfaToken enrollmentRequired methods }
      ... on LoginError { code message field }
    }
  }
`);

/** What the login page shows after one of these pages sent the visitor there. */
export interface LoginNotice {
  email?: string;
  notice?: string;
}


/** The routes of these pages; `loggedIn`: only those a logged-in visitor may follow. */
export function accountRoutes(loggedIn: boolean): ReactNode {
  const confirm = <Route key="confirm" path="/confirm-email" element={<ConfirmEmailPage />} />;
  if (loggedIn)
    return [
      confirm,
      ...["/register", "/activate", "/forgot-password", "/reset-password", "/invitation"].map(
        (path) => <Route key={path} path={path} element={<Navigate to="/" replace />} />,
      ),
    ];
  return [
    confirm,
    <Route key="register" path="/register" element={<RegisterPage />} />,
    <Route key="activate" path="/activate" element={<ActivatePage />} />,
    <Route key="forgot" path="/forgot-password" element={<ForgotPasswordPage />} />,
    <Route key="reset" path="/reset-password" element={<ResetPasswordPage />} />,
    <Route key="invitation" path="/invitation" element={<InvitationPage />} />,
    <Route key="sso" path="/login/sso" element={<SsoReturnPage />} />,
  ];
}

function Card({ id, title, children }: { id: string; title: string; children: ReactNode }) {
  return (
    <section className="card narrow" aria-labelledby={id}>
      <h1 id={id}>{title}</h1>
      {children}
    </section>
  );
}

function Intro({ text }: { text: string }) {
  return text ? <p className="intro">{text}</p> : null;
}

/** Registration with the portal's identifiers, its terms and its consent texts. */
export function RegisterPage() {
  const { portal, t, language } = usePortal();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [values, setValues] = useState<Record<string, string>>({});
  const [acceptedTerms, setAcceptedTerms] = useState(false);
  const [marketingConsent, setMarketingConsent] = useState(false);
  const [refusal, setRefusal] = useState<Refusal | null>(null);
  const [received, setReceived] = useState<string | null>(null);
  const [, register] = useMutation(RegisterDocument);
  // The email is asked for once: it is the login and, where configured, an identifier.
  const identifiers = portal.identifiers.filter((each) => each.key !== "contact.email");
  const fields = [
    "email",
    "password",
    "acceptedTerms",
    "marketingConsent",
    ...identifiers.map((each) => `identifiers.${each.key}`),
  ];

  if (portal.registrationLink)
    return (
      <Card id="register-title" title={t.register}>
        <p>
          <a href={portal.registrationLink}>{t.registerElsewhere}</a>
        </p>
      </Card>
    );
  if (portal.selfRegistration === "DENY")
    return (
      <Card id="register-title" title={t.register}>
        <p>{t.registrationClosed}</p>
        <Link to="/login">{t.toLogin}</Link>
      </Card>
    );

  async function submit(event: FormEvent) {
    event.preventDefault();
    setRefusal(null);
    const result = await register({
      input: {
        portalId: portal.id,
        email,
        password,
        language,
        acceptedTerms,
        marketingConsent,
        identifiers: identifiers.map((each) => ({ key: each.key, value: values[each.key] ?? "" })),
      },
    });
    const answer = result.data?.register;
    if (!answer) {
      const refused = refusalOf(result.error, t.error);
      // A value refused while read names its list position (identifiers[0].value).
      const at = /^identifiers\[(\d+)\]/.exec(refused.field ?? "");
      const key = at ? identifiers[Number(at[1])]?.key : undefined;
      setRefusal(key ? { ...refused, field: `identifiers.${key}` } : refused);
    } else if (answer.__typename === "MutationError") setRefusal(answer);
    else setReceived(answer.message);
  }

  if (received)
    return (
      <Card id="register-title" title={t.register}>
        <p role="status">{received}</p>
        <p>{t.registrationMailed}</p>
        <Link to="/login">{t.toLogin}</Link>
      </Card>
    );
  return (
    <Card id="register-title" title={t.register}>
      <Intro text={portal.texts.registration} />
      <form onSubmit={submit} noValidate>
        <Field
          label={t.email}
          name="email"
          type="email"
          autoComplete="email"
          value={email}
          onChange={setEmail}
          error={refusalAt(refusal, "email", fields)}
          required
        />
        {identifiers.map((each) => (
          <Field
            key={each.key}
            label={each.label}
            name={each.key}
            value={values[each.key] ?? ""}
            onChange={(value) => setValues({ ...values, [each.key]: value })}
            error={refusalAt(refusal, `identifiers.${each.key}`, fields)}
            required
          />
        ))}
        <Field
          label={t.password}
          name="password"
          type="password"
          autoComplete="new-password"
          value={password}
          onChange={setPassword}
          hint={t.passwordHint(portal.passwordPolicy.minLength)}
          error={refusalAt(refusal, "password", fields)}
          required
        />
        {portal.texts.privacy ? <p className="hint">{portal.texts.privacy}</p> : null}
        {portal.termsUrl ? (
          <Check
            name="acceptedTerms"
            checked={acceptedTerms}
            onChange={setAcceptedTerms}
            error={refusalAt(refusal, "acceptedTerms", fields)}
            label={
              <>
                {t.acceptTerms[0]}
                <a href={portal.termsUrl} target="_blank" rel="noreferrer">
                  {t.terms}
                </a>
                {portal.privacyUrl ? (
                  <>
                    {t.acceptTerms[1]}
                    <a href={portal.privacyUrl} target="_blank" rel="noreferrer">
                      {t.privacy}
                    </a>
                    {t.acceptTerms[2]}
                  </>
                ) : null}
                {t.acceptTerms[3]}
              </>
            }
          />
        ) : null}
        {portal.texts.marketingConsent ? (
          <Check
            name="marketingConsent"
            checked={marketingConsent}
            onChange={setMarketingConsent}
            error={refusalAt(refusal, "marketingConsent", fields)}
            label={portal.texts.marketingConsent}
          />
        ) : null}
        <FormError message={refusalAt(refusal, null, fields)} />
        <button type="submit">{t.register}</button>
      </form>
      <p>
        {t.haveAccess} <Link to="/login">{t.toLogin}</Link>
      </p>
    </Card>
  );
}

/** The token of the link that led here (`?token=`), once: it leaves the address bar so
 * it is neither bookmarked nor in the history. */
function useLinkToken(): string {
  const [params, setParams] = useSearchParams();
  const [token] = useState(() => params.get("token") ?? "");
  useEffect(() => {
    if (params.has("token")) setParams({}, { replace: true });
  }, [params, setParams]);
  return token;
}

/** The activation link: activates once, then on to the login (or waits for staff). */
export function ActivatePage() {
  const { portal, t } = usePortal();
  const token = useLinkToken();
  const navigate = useNavigate();
  const [, activate] = useMutation(ActivateDocument);
  const [, resend] = useMutation(ResendActivationDocument);
  const [state, setState] = useState<"working" | "waiting" | Refusal>("working");
  const started = useRef(false);

  useEffect(() => {
    if (started.current) return;
    started.current = true;
    (async () => {
      const result = await activate({ input: { portalId: portal.id, token } });
      const answer = result.data?.activateAccount;
      if (!answer) setState(refusalOf(result.error, t.error));
      else if (answer.__typename === "MutationError") setState(answer);
      else if (answer.canLogIn) {
        const state: LoginNotice = { email: answer.email, notice: t.activated };
        navigate("/login", { replace: true, state });
      } else setState("waiting");
    })();
  }, [activate, navigate, portal.id, t, token]);

  return (
    <Card id="activate-title" title={t.activation}>
      <Intro text={portal.texts.activation} />
      {state === "working" ? (
        <p role="status">{t.loading}</p>
      ) : state === "waiting" ? (
        <p role="status">{t.activatedWaiting}</p>
      ) : (
        <>
          <p className="error" role="alert">
            {state.message}
          </p>
          {/* A spent or expired link: a new one to the address (older ones stop working). */}
          <h2>{t.newActivationLink}</h2>
          <EmailRequestForm
            initial=""
            submitLabel={t.sendActivationLink}
            send={async (email) => {
              const result = await resend({ input: { portalId: portal.id, email } });
              return result.data?.resendActivation ?? refused(result.error, t.error);
            }}
          />
        </>
      )}
    </Card>
  );
}

/** One address, one request whose answer is the same whether or not it has an access
 * (a reset link, a new activation link). */
function EmailRequestForm(props: {
  initial: string;
  submitLabel: string;
  send: (email: string) => Promise<{ __typename: string; message: string; field?: string | null }>;
}) {
  const { t } = usePortal();
  const [email, setEmail] = useState(props.initial);
  const [refusal, setRefusal] = useState<Refusal | null>(null);
  const [received, setReceived] = useState<string | null>(null);
  const fields = ["email"];

  async function submit(event: FormEvent) {
    event.preventDefault();
    setRefusal(null);
    const answer = await props.send(email);
    if (answer.__typename === "RequestReceived") setReceived(answer.message);
    else setRefusal(answer);
  }

  return received ? (
    <>
      <p role="status">{received}</p>
      <Link to="/login">{t.toLogin}</Link>
    </>
  ) : (
    <form onSubmit={submit} noValidate>
      <Field
        label={t.email}
        name="email"
        type="email"
        autoComplete="username"
        value={email}
        onChange={setEmail}
        error={refusalAt(refusal, "email", fields)}
        required
      />
      <FormError message={refusalAt(refusal, null, fields)} />
      <button type="submit">{props.submitLabel}</button>
      <p>
        <Link to="/login">{t.toLogin}</Link>
      </p>
    </form>
  );
}

/** Asks for a reset link. */
export function ForgotPasswordPage() {
  const { portal, t } = usePortal();
  const location = useLocation();
  const [, request] = useMutation(RequestResetDocument);
  return (
    <Card id="forgot-title" title={t.forgotPassword}>
      <Intro text={portal.texts.passwordForgotten} />
      <EmailRequestForm
        initial={(location.state as LoginNotice | null)?.email ?? ""}
        submitLabel={t.sendResetLink}
        send={async (email) => {
          const result = await request({ input: { portalId: portal.id, email } });
          return result.data?.requestPasswordReset ?? refused(result.error, t.error);
        }}
      />
    </Card>
  );
}

function refused(error: Parameters<typeof refusalOf>[0], fallback: string) {
  return { __typename: "MutationError", ...refusalOf(error, fallback) };
}

/** A new password with a link's token: the reset link, or an invitation. */
function NewPasswordForm(props: {
  id: string;
  title: string;
  submitLabel: string;
  intro?: string;
  save: (token: string, password: string) => Promise<Refusal | LoginNotice>;
}) {
  const { portal, t } = usePortal();
  const token = useLinkToken();
  const navigate = useNavigate();
  const [password, setPassword] = useState("");
  const [repeated, setRepeated] = useState("");
  const [refusal, setRefusal] = useState<Refusal | null>(null);
  const fields = ["password", "repeated"];

  async function submit(event: FormEvent) {
    event.preventDefault();
    setRefusal(null);
    if (password !== repeated) {
      setRefusal({ message: t.passwordsDiffer, field: "repeated" });
      return;
    }
    const answer = await props.save(token, password);
    if ("message" in answer) setRefusal(answer);
    else navigate("/login", { replace: true, state: answer });
  }

  return (
    <Card id={props.id} title={props.title}>
      {props.intro ? <Intro text={props.intro} /> : null}
      <form onSubmit={submit} noValidate>
        <Field
          label={t.newPassword}
          name="password"
          type="password"
          autoComplete="new-password"
          value={password}
          onChange={setPassword}
          hint={t.passwordHint(portal.passwordPolicy.minLength)}
          error={refusalAt(refusal, "password", fields)}
          required
        />
        <Field
          label={t.repeatPassword}
          name="repeated"
          type="password"
          autoComplete="new-password"
          value={repeated}
          onChange={setRepeated}
          error={refusalAt(refusal, "repeated", fields)}
          required
        />
        {/* A spent or expired link (field "token") has no input of its own. */}
        <FormError message={refusalAt(refusal, null, fields)} />
        <button type="submit">{props.submitLabel}</button>
      </form>
      {refusal?.field === "token" ? (
        <p>
          <Link to="/forgot-password">{t.forgotPassword}</Link>
        </p>
      ) : null}
    </Card>
  );
}

export function ResetPasswordPage() {
  const { portal, t } = usePortal();
  const [, reset] = useMutation(ResetDocument);
  return (
    <NewPasswordForm
      id="reset-title"
      title={t.resetPassword}
      submitLabel={t.savePassword}
      save={async (token, password) => {
        const result = await reset({ input: { portalId: portal.id, token, password } });
        const answer = result.data?.resetPassword;
        if (!answer) return refusalOf(result.error, t.error);
        if (answer.__typename === "MutationError") return answer;
        return { email: answer.email, notice: t.passwordWasReset };
      }}
    />
  );
}

export function InvitationPage() {
  const { portal, t } = usePortal();
  const [, accept] = useMutation(AcceptInvitationDocument);
  return (
    <NewPasswordForm
      id="invitation-title"
      title={t.invitation}
      intro={t.invitationIntro}
      submitLabel={t.savePassword}
      save={async (token, password) => {
        const result = await accept({ input: { portalId: portal.id, token, password } });
        const answer = result.data?.acceptInvitation;
        if (!answer) return refusalOf(result.error, t.error);
        if (answer.__typename === "MutationError") return answer;
        return {
          email: answer.email,
          notice: answer.canLogIn ? t.activated : t.activatedWaiting,
        };
      }}
    />
  );
}

/** The link to a new login email: switches to it (logged in or not). */
export function ConfirmEmailPage() {
  const { t, loggedIn } = usePortal();
  const token = useLinkToken();
  const [, confirm] = useMutation(ConfirmEmailDocument);
  const [state, setState] = useState<"working" | { email: string } | Refusal>("working");
  const started = useRef(false);

  useEffect(() => {
    if (started.current) return;
    started.current = true;
    (async () => {
      const result = await confirm({ input: { token } });
      const answer = result.data?.confirmEmailChange;
      if (!answer) setState(refusalOf(result.error, t.error));
      else if (answer.__typename === "MutationError") setState(answer);
      else setState({ email: answer.email });
    })();
  }, [confirm, t, token]);

  return (
    <Card id="confirm-email-title" title={t.confirmEmail}>
      {state === "working" ? (
        <p role="status">{t.loading}</p>
      ) : "email" in state ? (
        <p role="status">{t.emailChanged(state.email)}</p>
      ) : (
        <p className="error" role="alert">
          {state.message}
        </p>
      )}
      {state !== "working" ? (
        loggedIn ? (
          <Link to="/">{t.home}</Link>
        ) : (
          <Link to="/login" state={"email" in state ? { email: state.email } : undefined}>
            {t.toLogin}
          </Link>
        )
      ) : null}
    </Card>
  );
}

/** Back from an identity provider: completes the login this tab started. */
export function SsoReturnPage() {
  const { t, logIn } = usePortal();
  const [params] = useSearchParams();
  const [, complete] = useMutation(CompleteSsoDocument);
  const [state, setState] = useState<"working" | Pending | Refusal>("working");
  const started = useRef(false);

  useEffect(() => {
    if (started.current) return;
    started.current = true;
    const code = params.get("code") ?? "";
    const state = params.get("state") ?? "";
    const expected = sessionStorage.getItem(SSO_STATE);
    sessionStorage.removeItem(SSO_STATE);
    if (!code || !state || state !== expected) {
      setState({ message: params.get("error_description") ?? t.ssoFailed });
      return;
    }
    (async () => {
      const result = await complete({ input: { code, state } });
      const answer = result.data?.completeSsoLogin;
      if (!answer) setState(refusalOf(result.error, t.error));
      else if (answer.__typename === "LoggedIn") logIn(answer.accessToken);
      else if (answer.__typename === "SecondFactorRequired") setState(answer);
      else setState(answer);
    })();
  }, [complete, logIn, params, t]);

  if (state !== "working" && "mfaToken" in state) return <SecondFactor pending={state} />;
  return (
    <Card id="sso-title" title={t.login}>
      {state === "working" ? (
        <p role="status">{t.loading}</p>
      ) : (
        <>
          <p className="error" role="alert">
            {state.message}
          </p>
          <Link to="/login">{t.toLogin}</Link>
        </>
      )}
    </Card>
  );
}
