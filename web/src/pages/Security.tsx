import { QRCodeSVG } from "qrcode.react";
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";
import { Field, FormError, refusalAt, type Refusal } from "../errors";
import { graphql } from "../gql";
import { usePortal } from "../portal";

const SecurityDocument = graphql(`
  query Security {
    viewer {
      isImpersonation
      portalUser { id totpEnabled }
      sessions { id createdAt lastUsedAt userAgent ipAddress current }
    }
  }
`);

export const EnrollTotpDocument = graphql(`
  mutation EnrollTotp($input: EnrollTotpInput!) {
    enrollTotp(input: $input) {
      __typename
      ... on TotpEnrollment { secret uri }
      ... on Error { code message field }
    }
  }
`);

const ConfirmTotpDocument = graphql(`
  mutation ConfirmTotp($input: ConfirmTotpInput!) {
    confirmTotp(input: $input) {
      __typename
      ... on TotpConfirmed { recoveryCodes session { accessToken } }
      ... on Error { code message field }
    }
  }
`);

const RegenerateRecoveryCodesDocument = graphql(`
  mutation RegenerateRecoveryCodes($input: TotpCodeInput!) {
    regenerateRecoveryCodes(input: $input) {
      __typename
      ... on RecoveryCodes { codes }
      ... on Error { code message field }
    }
  }
`);

const DisableTotpDocument = graphql(`
  mutation DisableTotp($input: TotpCodeInput!) {
    disableTotp(input: $input) {
      __typename
      ... on TotpDisabled { disabled }
      ... on Error { code message field }
    }
  }
`);

const RevokeSessionDocument = graphql(`
  mutation RevokeSession($input: RevokeSessionInput!) {
    revokeSession(input: $input) {
      __typename
      ... on SessionRevoked { session { id current } }
      ... on Error { code message field }
    }
  }
`);

const LogoutEverywhereDocument = graphql(`
  mutation LogoutEverywhere {
    logoutEverywhere { revokedSessions }
  }
`);

/** A browser's own name for itself, shortened to browser and system ("Firefox · Windows");
 * a name it does not recognise as it is. */
function deviceName(userAgent: string): string {
  const browser = [
    ["Edg/", "Edge"],
    ["Firefox/", "Firefox"],
    ["Chrome/", "Chrome"],
    ["Safari/", "Safari"],
  ].find(([mark]) => userAgent.includes(mark))?.[1];
  const system = [
    ["Android", "Android"],
    ["iPhone", "iPhone"],
    ["iPad", "iPad"],
    ["Windows", "Windows"],
    ["Mac OS X", "macOS"],
    ["Linux", "Linux"],
  ].find(([mark]) => userAgent.includes(mark))?.[1];
  return browser && system ? `${browser} · ${system}` : userAgent;
}

function moment(value: string, language: string): string {
  return new Intl.DateTimeFormat(language, { dateStyle: "medium", timeStyle: "short" }).format(
    new Date(value),
  );
}

/** A refused answer (a GraphQL error, e.g. forbidden under impersonation) as a refusal. */
function failed(error: { graphQLErrors: { message: string }[] } | undefined, fallback: string) {
  return { message: error?.graphQLErrors[0]?.message ?? fallback, field: null };
}

/** Second factor (TOTP with QR code, recovery codes) and the logged-in devices. */
export function SecurityPage() {
  const { t } = usePortal();
  const [{ data, fetching, error }, refetch] = useQuery({ query: SecurityDocument });
  if (fetching && !data) return <p>{t.loading}</p>;
  if (error || !data) return <p role="alert">{t.error}</p>;
  const reload = () => refetch({ requestPolicy: "network-only" });
  return (
    <>
      <h1>{t.security}</h1>
      <TwoFactor enabled={Boolean(data.viewer.portalUser?.totpEnabled)} onChanged={reload} />
      <Sessions sessions={data.viewer.sessions ?? []} onChanged={reload} />
    </>
  );
}

export interface Enrollment {
  secret: string;
  uri: string;
}

function TwoFactor({ enabled, onChanged }: { enabled: boolean; onChanged: () => void }) {
  const { t } = usePortal();
  const [enrollment, setEnrollment] = useState<Enrollment | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [refusal, setRefusal] = useState<Refusal | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [, enroll] = useMutation(EnrollTotpDocument);
  const [, regenerate] = useMutation(RegenerateRecoveryCodesDocument);
  const [, disable] = useMutation(DisableTotpDocument);

  async function start() {
    setRefusal(null);
    setDone(null);
    const result = await enroll({ input: {} });
    const answer = result.data?.enrollTotp;
    if (!answer) setRefusal(failed(result.error, t.error));
    else if (answer.__typename === "TotpEnrollment") setEnrollment(answer);
    else setRefusal({ message: answer.message, field: answer.field });
  }

  return (
    <section className="card" aria-labelledby="two-factor-title">
      <h2 id="two-factor-title">{t.twoFactor}</h2>
      {codes ? (
        <RecoveryCodeList codes={codes} onDone={() => setCodes(null)} />
      ) : enabled ? (
        <>
          <p>{t.twoFactorOn}</p>
          <CodeForm
            title={t.regenerateCodes}
            hint={t.regenerateHint}
            send={async (code) => {
              const result = await regenerate({ input: { code } });
              const answer = result.data?.regenerateRecoveryCodes;
              if (!answer) return failed(result.error, t.error);
              if (answer.__typename !== "RecoveryCodes") return answer;
              setCodes(answer.codes);
              return null;
            }}
          />
          <CodeForm
            title={t.disableTwoFactor}
            hint={t.disableHint}
            send={async (code) => {
              const result = await disable({ input: { code } });
              const answer = result.data?.disableTotp;
              if (!answer) return failed(result.error, t.error);
              if (answer.__typename !== "TotpDisabled") return answer;
              setDone(t.twoFactorDisabled);
              onChanged();
              return null;
            }}
          />
        </>
      ) : enrollment ? (
        <Confirm
          enrollment={enrollment}
          onConfirmed={(recovery) => {
            setEnrollment(null);
            setCodes(recovery);
            onChanged();
          }}
        />
      ) : (
        <>
          <p>{t.twoFactorOff}</p>
          <FormError message={refusal?.message ?? null} />
          <button type="button" onClick={start}>
            {t.enrollStart}
          </button>
        </>
      )}
      {done ? <p role="status">{done}</p> : null}
    </section>
  );
}

/** The QR code and the secret of a started enrolment, confirmed with a first code; with
 * the `mfaToken` of a login that requires enrolment, confirming also ends that login
 * (`onConfirmed` gets its access token). */
export function Confirm({
  enrollment,
  mfaToken,
  onConfirmed,
}: {
  enrollment: Enrollment;
  mfaToken?: string;
  onConfirmed: (codes: string[], accessToken: string | null) => void;
}) {
  const { t } = usePortal();
  const [code, setCode] = useState("");
  const [refusal, setRefusal] = useState<Refusal | null>(null);
  const [, confirm] = useMutation(ConfirmTotpDocument);
  const fields = ["code"];

  async function submit(event: FormEvent) {
    event.preventDefault();
    setRefusal(null);
    const result = await confirm({ input: { code: code.trim(), mfaToken } });
    const answer = result.data?.confirmTotp;
    if (!answer) setRefusal({ message: result.error?.graphQLErrors[0]?.message ?? t.error, field: "code" });
    else if (answer.__typename === "TotpConfirmed")
      onConfirmed(answer.recoveryCodes, answer.session?.accessToken ?? null);
    else setRefusal({ message: answer.message, field: answer.field ?? "code" });
  }

  return (
    <form onSubmit={submit} noValidate aria-label={t.enrollStart}>
      <p>{t.scanQr}</p>
      <div className="qr">
        <QRCodeSVG value={enrollment.uri} size={192} marginSize={2} title={t.qrLabel} role="img" />
      </div>
      <p>
        {t.secretLabel}: <code className="secret" data-testid="totp-secret">{enrollment.secret}</code>
      </p>
      <Field
        label={t.appCode}
        name="code"
        inputMode="numeric"
        autoComplete="one-time-code"
        value={code}
        onChange={setCode}
        error={refusalAt(refusal, "code", fields)}
        required
      />
      <FormError message={refusalAt(refusal, null, fields)} />
      <button type="submit">{t.activate}</button>
    </form>
  );
}

/** The recovery codes, shown once; `Heading` the level they sit at on their page. */
export function RecoveryCodeList({
  codes,
  onDone,
  Heading = "h3",
}: {
  codes: string[];
  onDone: () => void;
  Heading?: "h2" | "h3";
}) {
  const { t } = usePortal();
  const title = useRef<HTMLHeadingElement>(null);
  // Shown in place of the form: screen readers start reading at the codes.
  useEffect(() => title.current?.focus(), []);
  return (
    <div role="region" aria-labelledby="recovery-title">
      <Heading id="recovery-title" ref={title} tabIndex={-1}>
        {t.recoveryCodes}
      </Heading>
      <p>{t.recoveryCodesOnce}</p>
      <ul className="codes">
        {codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ul>
      <button type="button" onClick={onDone}>
        {t.recoveryCodesDone}
      </button>
    </div>
  );
}

/** A form asking for a current code (or a recovery code) before a second-factor change;
 * `send` answers the API's refusal, or null when the change was made. */
function CodeForm({
  title,
  hint,
  send,
}: {
  title: string;
  hint: string;
  send: (code: string) => Promise<Refusal | null>;
}) {
  const { t } = usePortal();
  const [code, setCode] = useState("");
  const [refusal, setRefusal] = useState<Refusal | null>(null);
  const titleId = useId();
  const fields = ["code"];

  async function submit(event: FormEvent) {
    event.preventDefault();
    setRefusal(null);
    const refused = await send(code.trim());
    if (refused) setRefusal({ message: refused.message, field: refused.field ?? "code" });
    else setCode("");
  }

  return (
    <form onSubmit={submit} noValidate className="subform" aria-labelledby={titleId}>
      <h3 id={titleId}>{title}</h3>
      <Field
        label={t.code}
        name="code"
        autoComplete="one-time-code"
        value={code}
        onChange={setCode}
        hint={hint}
        error={refusalAt(refusal, "code", fields)}
        required
      />
      <FormError message={refusalAt(refusal, null, fields)} />
      <button type="submit">{title}</button>
    </form>
  );
}

interface LoginSession {
  id: string;
  createdAt: string;
  lastUsedAt: string;
  userAgent?: string | null;
  ipAddress?: string | null;
  current: boolean;
}

function Sessions({ sessions, onChanged }: { sessions: LoginSession[]; onChanged: () => void }) {
  const { t, language, logOut } = usePortal();
  const [refusal, setRefusal] = useState<(Refusal & { id: string }) | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [, revoke] = useMutation(RevokeSessionDocument);
  const [, logoutEverywhere] = useMutation(LogoutEverywhereDocument);

  async function end(session: LoginSession) {
    setRefusal(null);
    setDone(null);
    const result = await revoke({ input: { sessionId: session.id } });
    const answer = result.data?.revokeSession;
    if (!answer) setRefusal({ ...failed(result.error, t.error), id: session.id });
    else if (answer.__typename === "SessionRevoked") {
      if (answer.session.current) logOut();
      else {
        setDone(t.sessionEnded);
        onChanged();
      }
    } else setRefusal({ message: answer.message, field: answer.field, id: session.id });
  }

  return (
    <section className="card" aria-labelledby="sessions-title">
      <h2 id="sessions-title">{t.sessions}</h2>
      <ul className="sessions">
        {sessions.map((session) => {
          const device = session.userAgent ? deviceName(session.userAgent) : t.unknownDevice;
          return (
            <li key={session.id} className="session">
              <div>
                <p className="device" title={session.userAgent ?? undefined}>
                  {device}
                  {session.current ? <strong className="badge"> {t.thisDevice}</strong> : null}
                </p>
                <p className="hint">
                  {t.since}: {moment(session.createdAt, language)} · {t.lastUsed}:{" "}
                  {moment(session.lastUsedAt, language)}
                  {session.ipAddress ? ` · ${session.ipAddress}` : null}
                </p>
                {refusal?.id === session.id ? <FormError message={refusal.message} /> : null}
              </div>
              {session.current ? null : (
                <button
                  type="button"
                  className="secondary"
                  aria-label={t.endSession(device)}
                  onClick={() => end(session)}
                >
                  {t.endSessionShort}
                </button>
              )}
            </li>
          );
        })}
      </ul>
      {done ? <p role="status">{done}</p> : null}
      <p className="hint">{t.logoutEverywhereHint}</p>
      <button
        type="button"
        onClick={async () => {
          await logoutEverywhere({});
          logOut();
        }}
      >
        {t.logoutEverywhere}
      </button>
    </section>
  );
}
