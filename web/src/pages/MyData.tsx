import { useQuery } from "urql";
import { graphql } from "../gql";
import { usePortal } from "../portal";

const MyDataDocument = graphql(`
  query MyData {
    viewer {
      portalUser { id email language }
      contact {
        id
        firstName
        lastName
        companyName
        email
        phone
        customerNumber
        address { street houseNumber postalCode city country }
      }
    }
  }
`);

/** What the utility knows of the customer. */
export function MyDataPage() {
  const { t } = usePortal();
  const [{ data, fetching, error }] = useQuery({ query: MyDataDocument });
  if (fetching && !data) return <p>{t.loading}</p>;
  if (error) return <p role="alert">{t.error}</p>;
  const contact = data?.viewer.contact;
  if (!contact) return <p>{t.notFound}</p>;
  const address = contact.address;
  const rows: [string, string | null | undefined][] = [
    [t.name, [contact.firstName, contact.lastName].filter(Boolean).join(" ") || contact.companyName],
    [t.customerNumber, contact.customerNumber],
    [t.email, contact.email ?? data?.viewer.portalUser?.email],
    [t.phone, contact.phone],
    [
      t.address,
      address
        ? `${address.street ?? ""} ${address.houseNumber ?? ""}, ${address.postalCode ?? ""} ${address.city ?? ""}`
        : null,
    ],
  ];
  return (
    <>
      <h1>{t.myData}</h1>
      <dl className="card details">
        {rows.map(([label, value]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd>{value || "–"}</dd>
          </div>
        ))}
      </dl>
    </>
  );
}
