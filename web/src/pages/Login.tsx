import { useState, type FormEvent } from "react";
import { useMutation } from "urql";
import { Field, FormError, refusalAt, type Refusal } from "../errors";
import { graphql } from "../gql";
import type { SecondFactorMethod } from "../gql/graphql";
import { usePortal } from "../portal";

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

interface Pending {
  mfaToken: string;
  methods: SecondFactorMethod[];
  enrollmentRequired: boolean;
}

/** Password first; then, if the account or portal asks for one, a second factor. */
export function LoginPage() {
  const { portal, t, logIn } = usePortal();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [refusal, setRefusal] = useState<Refusal | null>(null);
  const [pending, setPending] = useState<Pending | null>(null);
  const [, login] = useMutation(LoginDocument);
  const fields = ["email", "password"];

  async function submit(event: FormEvent) {
    event.preventDefault();
    setRefusal(null);
    const result = await login({ input: { email, password, portalId: portal.id } });
    const answer = result.data?.login;
    if (!answer) setRefusal({ message: t.error });
    else if (answer.__typename === "LoggedIn") logIn(answer.accessToken);
    else if (answer.__typename === "SecondFactorRequired") setPending(answer);
    else if (answer.__typename === "LoginError") setRefusal(answer);
  }

  if (pending) return <SecondFactor pending={pending} />;
  return (
    <section className="card narrow" aria-labelledby="login-title">
      <h1 id="login-title">{t.login}</h1>
      {portal.texts.login ? <p className="intro">{portal.texts.login}</p> : null}
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
        <FormError message={refusalAt(refusal, null, fields)} />
        <button type="submit">{t.login}</button>
      </form>
    </section>
  );
}

function SecondFactor({ pending }: { pending: Pending }) {
  const { t, logIn } = usePortal();
  const methods = pending.methods.filter((method) => method !== "ENROLL_TOTP");
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

  if (pending.enrollmentRequired && methods.length === 0)
    return (
      <section className="card narrow">
        <h1>{t.secondFactor}</h1>
        <p role="alert">{t.enrollmentRequired}</p>
      </section>
    );
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
    </section>
  );
}
