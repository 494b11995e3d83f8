import { useId } from "react";
import { Link, useParams } from "react-router";
import { useQuery } from "urql";
import { graphql } from "../gql";
import type { ProcessFieldsFragment } from "../gql/graphql";
import { day } from "../format";
import { usePortal } from "../portal";

// The fields both queries ask (the client preset types them as ProcessFieldsFragment).
graphql(`
  fragment ProcessFields on Process {
    id
    title
    status
    createdAt
    currentStep { id }
    steps { id title status plannedFor doneAt }
  }
`);

const ProcessesDocument = graphql(`
  query Processes {
    viewer { contact { id processes { ...ProcessFields } } }
  }
`);

const ProcessDocument = graphql(`
  query Process($id: ID!) {
    node(id: $id) { ... on Process { ...ProcessFields } }
  }
`);

const STATUS: Record<string, Record<string, string>> = {
  de: {
    OPEN: "In Bearbeitung",
    DONE: "Abgeschlossen",
    CANCELLED: "Abgebrochen",
    PENDING: "Offen",
    IN_PROGRESS: "In Arbeit",
    SKIPPED: "Entfällt",
  },
  en: {
    OPEN: "In progress",
    DONE: "Done",
    CANCELLED: "Cancelled",
    PENDING: "To do",
    IN_PROGRESS: "Being worked on",
    SKIPPED: "Not needed",
  },
};

function named(value: string | null | undefined, language: string): string {
  if (!value) return "–";
  return (STATUS[language] ?? STATUS.de)[value] ?? value;
}

/** The processes of the customer's orders and requests, in the steps the portal shares. */
export function ProcessesPage() {
  const { t } = usePortal();
  const [{ data, fetching, error }] = useQuery({ query: ProcessesDocument });
  if (fetching && !data) return <p>{t.loading}</p>;
  if (error) return <p role="alert">{t.error}</p>;
  const processes = (data?.viewer.contact?.processes ?? []) as ProcessFieldsFragment[];
  return (
    <>
      <h1>{t.processes}</h1>
      {processes.length === 0 ? <p>{t.noProcesses}</p> : null}
      {processes.map((process) => (
        <Process key={process.id} process={process} linked />
      ))}
    </>
  );
}

/** One process, as a mail about one of its steps links to it (`/processes/<id>`). */
export function ProcessPage() {
  const { t } = usePortal();
  const { id = "" } = useParams();
  const [{ data, fetching, error }] = useQuery({ query: ProcessDocument, variables: { id } });
  if (fetching && !data) return <p>{t.loading}</p>;
  if (error) return <p role="alert">{t.error}</p>;
  const process = data?.node as ProcessFieldsFragment | null | undefined;
  return (
    <>
      <p>
        <Link to="/processes">{t.allProcesses}</Link>
      </p>
      {process?.id ? <Process process={process} heading="h1" /> : <p role="alert">{t.notFound}</p>}
    </>
  );
}

function Process({
  process,
  heading = "h2",
  linked = false,
}: {
  process: ProcessFieldsFragment;
  heading?: "h1" | "h2";
  linked?: boolean;
}) {
  const { t, language } = usePortal();
  const titleId = useId();
  const Heading = heading;
  const title = process.title ?? "–";
  return (
    <article className="card" aria-labelledby={titleId}>
      <Heading id={titleId}>
        {linked ? <Link to={`/processes/${encodeURIComponent(process.id)}`}>{title}</Link> : title}
      </Heading>
      <p>
        {t.status}: {named(process.status, language)} · {t.startedOn}:{" "}
        {day(process.createdAt, language)}
      </p>
      <ol className="steps">
        {(process.steps ?? []).map((step) => (
          <li key={step.id} aria-current={step.id === process.currentStep?.id ? "step" : undefined}>
            <strong>{step.title}</strong> · {named(step.status, language)}
            {step.doneAt ? ` · ${t.doneOn} ${day(step.doneAt, language)}` : null}
            {!step.doneAt && step.plannedFor
              ? ` · ${t.plannedFor} ${day(step.plannedFor, language)}`
              : null}
          </li>
        ))}
      </ol>
    </article>
  );
}
