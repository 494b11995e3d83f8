// Rules graphql-schema-linter checks schema.graphql against (`make lint`, part of `make test`).
//
// Left out, because they fight our conventions rather than find mistakes:
// - enum-values-sorted-alphabetically: values are listed in the order of their lifecycle
//   (PENDING, ACTIVE, TERMINATED; OFFER, DECLINED, OPEN, ...), which says more than A-Z.
// - type-fields-sorted-alphabetically, input-object-fields-sorted-alphabetically,
//   interface-fields-sorted-alphabetically: fields come in the order a reader needs them
//   (id and name first, details after), and the order is the one Strawberry exports.
module.exports = {
  schemaPaths: ["../../schema.graphql"],
  rules: [
    // A self-describing schema: everything the front end can use says what it is.
    "types-have-descriptions",
    "fields-have-descriptions",
    "arguments-have-descriptions",
    "enum-values-have-descriptions",
    "input-object-values-have-descriptions",
    "descriptions-are-capitalized",
    "deprecations-have-a-reason",
    // Naming.
    "types-are-capitalized",
    "fields-are-camel-cased",
    "input-object-values-are-camel-cased",
    "enum-values-all-caps",
    // No leftovers, and lists page the Relay way (first/after, edges, pageInfo).
    "defined-types-are-used",
    "relay-connection-types-spec",
    "relay-connection-arguments-spec",
    "relay-page-info-spec",
  ],
};
