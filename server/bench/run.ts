import { benchInstallTime } from "./install-time.js";
import { benchInvocation } from "./invocation.js";
import { benchPackageDecode } from "./package-decode.js";
import { benchRepackageTime } from "./repackage-time.js";
import { benchUnaryRoundTrip } from "./unary-round-trip.js";

// `npm run bench`: one JSON line per figure, each with its baseline measured in the same run.
await benchUnaryRoundTrip();
await benchPackageDecode();
await benchInvocation();
await benchInstallTime();
await benchRepackageTime();
process.exit(0); // HTTP/2 client sessions of the benchmark clients would keep the event loop alive
