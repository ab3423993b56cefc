// Sends events with the official Inngest JS SDK, as an app would; used by tests/test_http.py.
//
//   node tests/js/send.mjs --base-url http://127.0.0.1:8288 [--dev] [--event-key KEY] \
//     '{"name": "user/created", "data": {"name": "Ann"}}'     (an event or an array)
//
// Prints {"ids": [...]} as the last line of stdout; on error prints it to stderr, exits 1.
import { parseArgs } from "node:util";
import { Inngest } from "inngest";

const { values, positionals } = parseArgs({
  options: {
    "base-url": { type: "string", default: process.env.INNGEST_BASE_URL },
    "event-key": { type: "string", default: process.env.INNGEST_EVENT_KEY },
    "app-id": { type: "string", default: "js-sender" },
    dev: { type: "boolean", default: false },
  },
  allowPositionals: true,
});

if (!values["base-url"] || positionals.length !== 1) {
  console.error("usage: send.mjs --base-url URL [--dev] [--event-key KEY] '<event JSON>'");
  process.exit(2);
}

const inngest = new Inngest({
  id: values["app-id"],
  baseUrl: values["base-url"],
  isDev: values.dev,
  ...(values["event-key"] ? { eventKey: values["event-key"] } : {}),
});

try {
  const { ids } = await inngest.send(JSON.parse(positionals[0]));
  console.log(JSON.stringify({ ids }));
} catch (err) {
  console.error(String(err?.message ?? err));
  process.exit(1);
}
