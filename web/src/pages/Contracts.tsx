import { useState, type FormEvent } from "react";
import { Link, useParams } from "react-router";
import { useMutation, useQuery } from "urql";
import { Field, FormError, refusalAt, type Refusal } from "../errors";
import { decimal, day, money, toDecimal } from "../format";
import { graphql } from "../gql";
import type { ContractQuery } from "../gql/graphql";
import { usePortal } from "../portal";

const ContractsDocument = graphql(`
  query Contracts {
    viewer {
      contracts(first: 100) {
        edges { node { id number commodity tariffName status installmentAmount } }
      }
    }
  }
`);

const ContractDocument = graphql(`
  query Contract($id: ID!) {
    node(id: $id) {
      __typename
      ... on Contract {
        id
        number
        commodity
        tariffName
        status
        installmentAmount
        installmentInterval
        installmentRules { enabled minAmount maxAmount changePossible nextChangeAt needsApproval }
        meters(first: 20) {
          edges {
            node {
              id
              number
              unit
              registers {
                id
                obisCode
                name
                readingRange {
                  obisCode
                  acceptsReadings
                  lowestPlausibleValue
                  highestPlausibleValue
                }
              }
              readings(first: 5) {
                edges { node { id value readAt register { obisCode } } }
              }
            }
          }
        }
      }
    }
  }
`);

const ChangeInstallmentDocument = graphql(`
  mutation ChangeInstallment($input: ChangeInstallmentInput!) {
    changeInstallment(input: $input) {
      __typename
      ... on InstallmentChanged { contract { id installmentAmount } }
      ... on ChangeRequested { changeRequest { id status } }
      ... on Error { code message field }
    }
  }
`);

const SubmitReadingDocument = graphql(`
  mutation SubmitMeterReading($input: SubmitMeterReadingInput!) {
    submitMeterReading(input: $input) {
      __typename
      ... on MeterReadingSubmitted { created reading { id value readAt } }
      ... on Error { code message field }
    }
  }
`);

export function ContractsPage() {
  const { t, language } = usePortal();
  const [{ data, fetching, error }] = useQuery({ query: ContractsDocument });
  if (fetching && !data) return <p>{t.loading}</p>;
  if (error) return <p role="alert">{t.error}</p>;
  const contracts = data?.viewer.contracts?.edges.map((edge) => edge.node) ?? [];
  return (
    <>
      <h1>{t.contracts}</h1>
      {contracts.length === 0 ? <p>{t.noContracts}</p> : null}
      <ul className="tiles">
        {contracts.map((contract) => (
          <li key={contract.id} className="card">
            <h2>
              <Link to={`/contracts/${encodeURIComponent(contract.id)}`}>
                {t.contract} {contract.number}
              </Link>
            </h2>
            <p>
              {contract.tariffName} · {contract.commodity}
            </p>
            <p>
              {t.installment}: {money(contract.installmentAmount, language)}
            </p>
          </li>
        ))}
      </ul>
    </>
  );
}

type Contract = Extract<NonNullable<ContractQuery["node"]>, { __typename: "Contract" }>;
type Meter = NonNullable<Contract["meters"]>["edges"][number]["node"];

/** One contract: installment with its allowed range, meters with their reading forms. */
export function ContractPage() {
  const { t } = usePortal();
  const { id = "" } = useParams();
  const [{ data, fetching, error }, refetch] = useQuery({ query: ContractDocument, variables: { id } });
  if (fetching && !data) return <p>{t.loading}</p>;
  // Another customer's contract (or any other ID) is not found: the API answers null.
  if (error || data?.node?.__typename !== "Contract") return <p role="alert">{t.notFound}</p>;
  const contract = data.node;
  const reload = () => refetch({ requestPolicy: "network-only" });
  return (
    <>
      <h1>
        {t.contract} {contract.number}
      </h1>
      <p>
        {t.tariff}: {contract.tariffName} · {contract.commodity} · {contract.status}
      </p>
      <Installment contract={contract} onChanged={reload} />
      <h2>{t.meters}</h2>
      {(contract.meters?.edges ?? []).map(({ node }) => (
        <MeterCard key={node.id} meter={node} onSubmitted={reload} />
      ))}
    </>
  );
}

function Installment({ contract, onChanged }: { contract: Contract; onChanged: () => void }) {
  const { t, language } = usePortal();
  const rules = contract.installmentRules;
  const [amount, setAmount] = useState("");
  const [refusal, setRefusal] = useState<Refusal | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [, change] = useMutation(ChangeInstallmentDocument);
  const fields = ["amount"];

  async function submit(event: FormEvent) {
    event.preventDefault();
    setRefusal(null);
    setDone(null);
    const result = await change({
      input: { contractId: contract.id, amount: toDecimal(amount, language) },
    });
    const answer = result.data?.changeInstallment;
    if (!answer) {
      // A malformed amount is refused by the Decimal scalar with a GraphQL error.
      setRefusal({ message: result.error?.graphQLErrors[0]?.message ?? t.error, field: "amount" });
    } else if (answer.__typename === "InstallmentChanged") {
      setDone(t.installmentChanged);
      setAmount("");
      onChanged();
    } else if (answer.__typename === "ChangeRequested") {
      setDone(t.changeRequested);
      setAmount("");
    } else setRefusal({ message: answer.message, field: answer.field ?? "amount" });
  }

  return (
    <section className="card" aria-labelledby="installment-title">
      <h2 id="installment-title">{t.installment}</h2>
      <p className="figure">{money(contract.installmentAmount, language)}</p>
      {rules?.enabled ? (
        <form onSubmit={submit} noValidate>
          <Field
            label={t.newInstallment}
            name="amount"
            inputMode="decimal"
            value={amount}
            onChange={setAmount}
            hint={[
              t.allowedRange(decimal(rules.minAmount, language), decimal(rules.maxAmount, language)),
              !rules.changePossible && rules.nextChangeAt
                ? t.changeNotPossibleUntil(day(rules.nextChangeAt, language))
                : null,
              rules.needsApproval ? t.needsApproval : null,
            ]
              .filter(Boolean)
              .join(" ")}
            error={refusalAt(refusal, "amount", fields)}
            required
          />
          <FormError message={refusalAt(refusal, null, fields)} />
          {done ? <p role="status">{done}</p> : null}
          <button type="submit">{t.changeInstallment}</button>
        </form>
      ) : null}
    </section>
  );
}

function MeterCard({ meter, onSubmitted }: { meter: Meter; onSubmitted: () => void }) {
  const { t, language } = usePortal();
  return (
    <section className="card" aria-label={`${t.meter} ${meter.number}`}>
      <h3>
        {t.meter} {meter.number}
      </h3>
      {(meter.registers ?? []).map((register) => (
        <ReadingForm
          key={register.id}
          meter={meter}
          obisCode={register.obisCode ?? null}
          name={register.name ?? register.obisCode ?? ""}
          range={register.readingRange ?? null}
          several={(meter.registers ?? []).length > 1}
          onSubmitted={onSubmitted}
        />
      ))}
      <h4>{t.readings}</h4>
      <table className="table">
        <thead>
          <tr>
            <th scope="col">{t.readAt}</th>
            <th scope="col">{t.value}</th>
          </tr>
        </thead>
        <tbody>
          {(meter.readings?.edges ?? []).map(({ node }) => (
            <tr key={node.id}>
              <td>{day(node.readAt, language)}</td>
              <td>
                {decimal(node.value, language)} {meter.unit}
                {(meter.registers ?? []).length > 1 && node.register?.obisCode
                  ? ` (${node.register.obisCode})`
                  : ""}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

interface ReadingFormProps {
  meter: Meter;
  obisCode: string | null;
  name: string;
  several: boolean;
  range: {
    acceptsReadings: boolean;
    lowestPlausibleValue: string;
    highestPlausibleValue: string;
  } | null;
  onSubmitted: () => void;
}

/** A reading with the plausible range; the client key stays until the API has the
 * reading, so a repeated submit (double click, retry after a lost answer) stores it once. */
function ReadingForm({ meter, obisCode, name, several, range, onSubmitted }: ReadingFormProps) {
  const { t, language } = usePortal();
  const [value, setValue] = useState("");
  const [clientKey, setClientKey] = useState(() => crypto.randomUUID());
  const [refusal, setRefusal] = useState<Refusal | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [{ fetching }, submitReading] = useMutation(SubmitReadingDocument);
  const fields = ["value"];

  if (range && !range.acceptsReadings) return <p>{t.notAccepting}</p>;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setRefusal(null);
    setDone(null);
    const result = await submitReading({
      input: {
        meterId: meter.id,
        value: toDecimal(value, language),
        clientKey,
        register: several ? obisCode : null,
      },
    });
    const answer = result.data?.submitMeterReading;
    if (!answer) setRefusal({ message: t.error });
    else if (answer.__typename === "MeterReadingSubmitted") {
      setDone(answer.created ? t.readingSaved : t.readingKnown);
      setValue("");
      setClientKey(crypto.randomUUID());
      onSubmitted();
    } else setRefusal({ message: answer.message, field: answer.field ?? "value" });
  }

  return (
    <form onSubmit={submit} noValidate className="reading">
      <Field
        label={several ? `${t.reading} ${name} (${meter.unit})` : `${t.reading} (${meter.unit})`}
        name="value"
        inputMode="decimal"
        value={value}
        onChange={setValue}
        hint={
          range
            ? t.plausibleRange(
                decimal(range.lowestPlausibleValue, language),
                decimal(range.highestPlausibleValue, language),
                meter.unit ?? "",
              )
            : null
        }
        error={refusalAt(refusal, "value", fields)}
        required
      />
      <FormError message={refusalAt(refusal, null, fields)} />
      {done ? <p role="status">{done}</p> : null}
      <button type="submit" disabled={fetching}>
        {t.submitReading}
      </button>
    </form>
  );
}
