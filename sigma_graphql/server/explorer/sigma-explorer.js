// Starts GraphiQL with the explorer plugin on the page served at /graphql
// (sigma_graphql/server/explorer_page.py). Everything it loads comes from this server.
//
// Signing in: the `login` mutation answers with the `session_token` cookie (HttpOnly), which
// the browser then sends with every request of this page. Cookie sessions count only for JSON
// POSTs, GET queries and WebSockets (sigma_graphql/request/context.py, CSRF): GraphiQL's
// fetcher always POSTs application/json, so they count here. Other clients put
// {"Authorization": "Bearer <token>"} in the Headers tab.
(function () {
  "use strict";

  var url = window.location.origin + window.location.pathname;
  var subscriptionUrl = url.replace(/^http/, "ws");

  var DEFAULT_QUERY = [
    "# sigma-graphql explorer. Run with Ctrl-Enter or the play button.",
    "#",
    "# Sign in (cookie session for this page):",
    "#   mutation { login(input: {email: \"owner@sigma-umkm.com\", password: \"owner-sigma-2026\"})",
    "#     { user { email role } userErrors { field message code } } }",
    "#   then: { me { email role } }",
    "# Or put {\"Authorization\": \"Bearer <token>\"} in the Headers tab below.",
    "",
    "{",
    "  umkms(first: 5) {",
    "    nodes { namaUsaha sektor wilayah { kota provinsi } }",
    "  }",
    "}",
    "",
  ].join("\n");

  function sameOriginFetch(input, init) {
    // Sends and stores the session cookie; never sends it anywhere else.
    return window.fetch(input, Object.assign({}, init, { credentials: "same-origin" }));
  }

  var fetcher = GraphiQL.createFetcher({
    url: url,
    subscriptionUrl: subscriptionUrl,
    fetch: sameOriginFetch,
  });

  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: DEFAULT_QUERY,
      plugins: [GraphiQLPluginExplorer.explorerPlugin()],
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      // Headers (a Bearer token) are not written to localStorage.
      shouldPersistHeaders: false,
      inputValueDeprecation: true,
    }),
  );
})();
