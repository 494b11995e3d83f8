import { Link } from "react-router";
import { useQuery } from "urql";
import { graphql } from "../gql";
import { day, money } from "../format";
import { usePortal } from "../portal";

const HomeDocument = graphql(`
  query Home {
    portalHome {
      language
      tiles {
        id
        kind
        position
        title
        text
        buttonLabel
        url
        linkUrl
        imageUrl
        contracts { id number tariffName installmentAmount }
        meters { id number contract { id } }
        documents { id name downloadUrl }
        payments { id kind status amount dueDate }
      }
    }
  }
`);

/** The published tiles the customer may see, in the portal's order. */
export function HomePage() {
  const { t, portal, language } = usePortal();
  const [{ data, fetching, error }] = useQuery({ query: HomeDocument });
  if (fetching && !data) return <p>{t.loading}</p>;
  if (error || !data?.portalHome) return <p role="alert">{t.error}</p>;
  const tiles = [...data.portalHome.tiles].sort((a, b) => a.position - b.position);
  return (
    <>
      <h1>{t.home}</h1>
      {portal.texts.home ? <p className="intro">{portal.texts.home}</p> : null}
      <ul className="tiles">
        {tiles.map((tile) => (
          <li key={tile.id} className={`card tile tile-${tile.kind.toLowerCase()}`}>
            <h2>{tile.title}</h2>
            {tile.imageUrl ? <img src={tile.imageUrl} alt="" /> : null}
            {tile.text ? <p>{tile.text}</p> : null}
            {tile.contracts?.length ? (
              <ul className="plain">
                {tile.contracts.map((contract) => (
                  <li key={contract.id}>
                    <Link to={`/contracts/${encodeURIComponent(contract.id)}`}>
                      {contract.number} {contract.tariffName}
                    </Link>{" "}
                    {money(contract.installmentAmount, language)}
                  </li>
                ))}
              </ul>
            ) : null}
            {tile.meters?.length ? (
              <ul className="plain">
                {tile.meters.map((meter) => (
                  <li key={meter.id}>
                    {meter.contract ? (
                      <Link to={`/contracts/${encodeURIComponent(meter.contract.id)}`}>
                        {t.meter} {meter.number}
                      </Link>
                    ) : (
                      `${t.meter} ${meter.number}`
                    )}
                  </li>
                ))}
              </ul>
            ) : null}
            {tile.documents?.length ? (
              <ul className="plain">
                {tile.documents.map((document) => (
                  <li key={document.id}>
                    {document.downloadUrl ? (
                      <a href={document.downloadUrl}>{document.name}</a>
                    ) : (
                      document.name
                    )}
                  </li>
                ))}
              </ul>
            ) : null}
            {tile.payments?.length ? (
              <ul className="plain">
                {tile.payments.map((payment) => (
                  <li key={payment.id}>
                    {day(payment.dueDate, language)}: {money(payment.amount, language)}
                  </li>
                ))}
              </ul>
            ) : null}
            {tile.buttonLabel && (tile.url || tile.linkUrl) ? (
              <a className="button" href={tile.url ?? tile.linkUrl ?? undefined}>
                {tile.buttonLabel}
              </a>
            ) : null}
          </li>
        ))}
      </ul>
    </>
  );
}
