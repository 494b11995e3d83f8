import { useId, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";
import { Field, FormError, refusalAt, type Refusal } from "../errors";
import { day, money } from "../format";
import { graphql } from "../gql";
import type { ChangesQuery } from "../gql/graphql";
import { usePortal } from "../portal";

const ChangesDocument = graphql(`
  query Changes {
    viewer {
      myChangeRequests(first: 50) {
        edges { node { id attribute status reason createdAt decidedAt contract { id number } } }
      }
      orders(first: 50) {
        edges {
          node { id number title status scheduledFor totalAmount offerAnsweredAt offerDeclineReason }
        }
      }
    }
  }
`);

const RespondToOfferDocument = graphql(`
  mutation RespondToOffer($input: RespondToOfferInput!) {
    respondToOffer(input: $input) {
      __typename
      ... on OfferAnswered { order { id status offerAnsweredAt } journey { journeyId label } }
      ... on Error { code message field }
    }
  }
`);

type Viewer = ChangesQuery["viewer"];
type Order = NonNullable<Viewer["orders"]>["edges"][number]["node"];

const STATUS: Record<string, Record<string, string>> = {
  de: {
    PENDING: "In Prüfung",
    APPROVED: "Übernommen",
    REJECTED: "Abgelehnt",
    CONFLICT: "Konflikt",
    OFFER: "Angebot offen",
    DECLINED: "Angebot abgelehnt",
    OPEN: "Beauftragt",
    IN_PROGRESS: "In Arbeit",
    COMPLETED: "Erledigt",
    CANCELLED: "Storniert",
    ACCEPTED: "Angebot angenommen",
    NAME: "Name",
    ADDRESS: "Adresse",
    PHONE: "Telefon",
    EMAIL: "E-Mail-Adresse",
    MARKETING_CONSENT: "Werbeeinwilligung",
    INSTALLMENT: "Abschlag",
    INSTALLMENT_INTERVAL: "Abschlagsrhythmus",
    PAYMENT_METHOD: "Zahlungsart",
    DUE_DAY: "Fälligkeitstag",
  },
  en: {
    PENDING: "Under review",
    APPROVED: "Applied",
    REJECTED: "Rejected",
    CONFLICT: "Conflict",
    OFFER: "Offer open",
    DECLINED: "Offer declined",
    OPEN: "Ordered",
    IN_PROGRESS: "In progress",
    COMPLETED: "Done",
    CANCELLED: "Cancelled",
    ACCEPTED: "Offer accepted",
    NAME: "Name",
    ADDRESS: "Address",
    PHONE: "Phone",
    EMAIL: "Email address",
    MARKETING_CONSENT: "Marketing consent",
    INSTALLMENT: "Installment",
    INSTALLMENT_INTERVAL: "Installment interval",
    PAYMENT_METHOD: "Payment method",
    DUE_DAY: "Due day",
  },
};

/** A status or attribute in the page's language (the API's enum value if unknown). */
function named(value: string | null | undefined, language: string): string {
  if (!value) return "–";
  return (STATUS[language] ?? STATUS.de)[value] ?? value;
}

/** An order's state as the customer sees it: an offer she accepted says so. */
function orderState(order: Order): string {
  if (order.offerAnsweredAt && order.status !== "DECLINED" && order.status !== "OFFER")
    return "ACCEPTED";
  return order.status ?? "";
}

/** The customer's change requests, open offers to answer, and orders. */
export function ChangesPage() {
  const { t, language } = usePortal();
  const [{ data, fetching, error }, refetch] = useQuery({ query: ChangesDocument });
  const [notice, setNotice] = useState<string | null>(null);
  if (fetching && !data) return <p>{t.loading}</p>;
  if (error || !data) return <p role="alert">{t.error}</p>;
  const answered = (message: string) => {
    setNotice(message);
    refetch({ requestPolicy: "network-only" });
  };
  const requests = data.viewer.myChangeRequests?.edges.map((edge) => edge.node) ?? [];
  const orders = data.viewer.orders?.edges.map((edge) => edge.node) ?? [];
  const offers = orders.filter((order) => order.status === "OFFER");
  const others = orders.filter((order) => order.status !== "OFFER");
  return (
    <>
      <h1>{t.changes}</h1>
      <section aria-labelledby="offers-title">
        <h2 id="offers-title">{t.offers}</h2>
        {notice ? <p role="status">{notice}</p> : null}
        {offers.length === 0 ? <p>{t.noOffers}</p> : null}
        {offers.map((order) => (
          <Offer key={order.id} order={order} onAnswered={answered} />
        ))}
      </section>
      <section className="card" aria-labelledby="orders-title">
        <h2 id="orders-title">{t.orders}</h2>
        {others.length === 0 ? (
          <p>{t.noOrders}</p>
        ) : (
          <div className="scroll">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">{t.number}</th>
                  <th scope="col">{t.orderTitle}</th>
                  <th scope="col">{t.status}</th>
                  <th scope="col">{t.scheduledFor}</th>
                  <th scope="col">{t.amount}</th>
                </tr>
              </thead>
              <tbody>
                {others.map((order) => (
                  <tr key={order.id}>
                    <td>{order.number}</td>
                    <td>{order.title}</td>
                    <td>
                      {named(orderState(order), language)}
                      {order.offerDeclineReason ? ` (${order.offerDeclineReason})` : null}
                    </td>
                    <td>{day(order.scheduledFor, language)}</td>
                    <td>{money(order.totalAmount, language)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section className="card" aria-labelledby="requests-title">
        <h2 id="requests-title">{t.changeRequestsTitle}</h2>
        {requests.length === 0 ? (
          <p>{t.noChangeRequests}</p>
        ) : (
          <div className="scroll">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">{t.changeOf}</th>
                  <th scope="col">{t.status}</th>
                  <th scope="col">{t.requestedOn}</th>
                  <th scope="col">{t.decidedOn}</th>
                </tr>
              </thead>
              <tbody>
                {requests.map((request) => (
                  <tr key={request.id}>
                    <td>
                      {named(request.attribute, language)}
                      {request.contract ? ` · ${t.contract} ${request.contract.number}` : null}
                    </td>
                    <td>
                      {named(request.status, language)}
                      {request.reason ? ` (${t.reasonGiven}: ${request.reason})` : null}
                    </td>
                    <td>{day(request.createdAt, language)}</td>
                    <td>{day(request.decidedAt, language)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}

function Offer({ order, onAnswered }: { order: Order; onAnswered: (message: string) => void }) {
  const { t, language } = usePortal();
  const titleId = useId();
  const [reason, setReason] = useState("");
  const [refusal, setRefusal] = useState<Refusal | null>(null);
  const [, respond] = useMutation(RespondToOfferDocument);
  const fields = ["reason"];

  async function answer(accept: boolean, event?: FormEvent) {
    event?.preventDefault();
    setRefusal(null);
    const result = await respond({
      input: { orderId: order.id, accept, reason: accept ? null : reason.trim() || null },
    });
    const answered = result.data?.respondToOffer;
    if (!answered)
      setRefusal({ message: result.error?.graphQLErrors[0]?.message ?? t.error, field: null });
    else if (answered.__typename === "OfferAnswered")
      onAnswered(accept ? t.offerAccepted : t.offerDeclined); else setRefusal({ message: answered.message, field: answered.field });
  }

  return (
    <article className="card" aria-labelledby={titleId}>
      <h3 id={titleId}>
        {order.title} ({order.number})
      </h3>
      <p>
        {named(order.status, language)} · {t.amount}: {money(order.totalAmount, language)} ·{" "}
        {t.scheduledFor}: {day(order.scheduledFor, language)}
      </p>
      <form onSubmit={(event) => answer(false, event)} noValidate>
        <Field
          label={t.declineReason}
          name="reason"
          value={reason}
          onChange={setReason}
          error={refusalAt(refusal, "reason", fields)}
        />
        <FormError message={refusalAt(refusal, null, fields)} />
        <div className="actions">
          <button type="button" onClick={() => answer(true)}>
            {t.acceptOffer}
          </button>
          <button type="submit" className="secondary">
            {t.declineOffer}
          </button>
        </div>
      </form>
    </article>
  );
}
