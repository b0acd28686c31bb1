// Apollo Client with its automatic persisted queries link (hashed queries over GET, as mobile
// clients configure it), then a plain query without the link. Prints one JSON object with what
// each query returned. Driven by tests/test_js_clients.py.
import { createHash } from "node:crypto";
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { createPersistedQueryLink } from "@apollo/client/link/persisted-queries";

const [url, tag] = process.argv.slice(2);
const sha256 = (text) => createHash("sha256").update(text).digest("hex");

const persisted = new ApolloClient({
  link: createPersistedQueryLink({ sha256, useGETForHashedQueries: true }).concat(
    new HttpLink({ uri: url }),
  ),
  cache: new InMemoryCache(),
});
const stats = gql(`query ApqStats${tag} { publicStats { verifiedUmkm } today }`);
const first = await persisted.query({ query: stats, fetchPolicy: "network-only" });
const second = await persisted.query({ query: stats, fetchPolicy: "network-only" });

const plain = new ApolloClient({ link: new HttpLink({ uri: url }), cache: new InMemoryCache() });
const normal = await plain.query({ query: gql(`query Plain${tag} { today }`) });

process.stdout.write(
  JSON.stringify({ first: first.data, second: second.data, normal: normal.data }) + "\n",
);
