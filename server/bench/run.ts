import { benchUnaryRoundTrip } from "./unary-round-trip.js";

// `npm run bench`: one JSON line per figure, each with its baseline measured in the same run.
await benchUnaryRoundTrip();
process.exit(0); // HTTP/2 client sessions of the benchmark clients would keep the event loop alive
