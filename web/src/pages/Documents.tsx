import { useQuery } from "urql";
import { graphql } from "../gql";
import { day } from "../format";
import { usePortal } from "../portal";

const DocumentsDocument = graphql(`
  query Documents {
    viewer {
      contact {
        id
        documents(first: 100) {
          edges { node { id name type createdAt downloadUrl sizeBytes contract { id number } } }
        }
      }
    }
  }
`);

/** The customer's documents, newest first, each with a signed download link. */
export function DocumentsPage() {
  const { t, language } = usePortal();
  const [{ data, fetching, error }] = useQuery({ query: DocumentsDocument });
  if (fetching && !data) return <p>{t.loading}</p>;
  if (error) return <p role="alert">{t.error}</p>;
  const documents = data?.viewer.contact?.documents?.edges.map((edge) => edge.node) ?? [];
  return (
    <>
      <h1>{t.documents}</h1>
      {documents.length === 0 ? (
        <p>{t.noDocuments}</p>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">{t.name}</th>
              <th scope="col">{t.contract}</th>
              <th scope="col">{t.created}</th>
              <th scope="col">
                <span className="visually-hidden">{t.download}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {documents.map((document) => (
              <tr key={document.id}>
                <td>{document.name}</td>
                <td>{document.contract?.number ?? "–"}</td>
                <td>{day(document.createdAt, language)}</td>
                <td>
                  {document.downloadUrl ? (
                    <a href={document.downloadUrl} download aria-label={`${t.download}: ${document.name}`}>
                      {t.download}
                    </a>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
