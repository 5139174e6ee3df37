// Starts GraphiQL on the page GET /graphql serves to a browser. A file of the service's own,
// not an inline script, so the page's Content-Security-Policy can refuse inline code.
(() => {
  "use strict";

  // GraphiQL's dialogs insert a <style> element while they are open (react-remove-scroll,
  // which takes its nonce from __webpack_nonce__): the one inline style the page's policy
  // admits, by this nonce, new with every page and read from this script's own tag.
  window.__webpack_nonce__ = document.currentScript.nonce;

  const WELCOME = [
    "# The coupon service's GraphQL API.",
    "# Run: Ctrl-Enter. Docs: the top icon on the left.",
    "#",
    "# With API keys set, open Headers below, add",
    '#   {"Authorization": "Bearer <key>"}',
    "# and re-fetch the schema: the arrows icon,",
    "# bottom left. Headers are not kept on reload.",
    "",
    "{",
    "  __typename",
    "}",
    "",
  ].join("\n");

  // GraphiQL's own localStorage, but for one thing: its history keeps the headers of each
  // query it ran, an API key among them, whatever shouldPersistHeaders says. They are
  // dropped on the way in, so a key typed into the Headers tab lives as long as the tab.
  const NAMESPACE = "graphiql:";
  const HISTORIES = new Set([`${NAMESPACE}queries`, `${NAMESPACE}favorites`]);
  const ownKeys = () => Object.keys(localStorage).filter((key) => key.startsWith(NAMESPACE));
  const withoutHeaders = (key, value) => {
    if (!HISTORIES.has(key)) return value;
    const saved = JSON.parse(value); // {queries: [{query, variables, headers, ...}]}
    for (const entries of Object.values(saved)) {
      for (const entry of Array.isArray(entries) ? entries : []) delete entry.headers;
    }
    return JSON.stringify(saved);
  };
  const storage = {
    getItem: (key) => localStorage.getItem(key),
    setItem: (key, value) => localStorage.setItem(key, withoutHeaders(key, value)),
    removeItem: (key) => localStorage.removeItem(key),
    get length() {
      return ownKeys().length;
    },
    clear: () => ownKeys().forEach((key) => localStorage.removeItem(key)),
  };

  // The page is served at the endpoint itself: queries go back to the same URL.
  const fetcher = GraphiQL.createFetcher({
    url: window.location.origin + window.location.pathname,
  });

  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher,
      storage,
      defaultQuery: WELCOME,
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
      inputValueDeprecation: true,
    }),
  );
})();
