// graphql-ws as a browser or mobile app uses it: subscribes to notificationAdded as the owner
// whose token it is given and prints, one JSON object per line, "connected" and the first event
// it receives, then exits. Driven by tests/test_js_clients.py.
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, token] = process.argv.slice(2);
const say = (message) => process.stdout.write(JSON.stringify(message) + "\n");

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${token}` },
  lazy: false,
  retryAttempts: 0,
  on: { connected: () => say({ event: "connected" }) },
});

client.subscribe(
  { query: "subscription { notificationAdded { id type tahun bulan umkm { id } } }" },
  {
    next: async (value) => {
      say({ event: "next", value });
      await client.dispose();
      process.exit(0);
    },
    error: (error) => {
      say({ event: "error", error: error?.message ?? JSON.stringify(error) });
      process.exit(1);
    },
    complete: () => {
      say({ event: "complete" });
      process.exit(1);
    },
  },
);
