/**
 * The repackager's closing summary: size against the daemon's limit, wheels per platform, the signature
 * before and after (with what the operator has to configure), what changed, and the offline proof.
 */
import type { RepackageOutcome } from "../../server/src/repackage/types.js";

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

function signatureLines(outcome: RepackageOutcome): { source: string; output: string } {
  const v = outcome.sourceVerification;
  const source = v.verified ? `signed, ${v.category} (key: ${v.keyName})` : `not verified (${v.reason})`;
  const lost = v.verified ? "the original signature no longer applies (the package's files changed)" : "";
  if (outcome.outputSignature.signed) {
    const s = outcome.outputSignature;
    return {
      source,
      output:
        `signed as ${s.category} with ${s.keyName}${lost ? `; ${lost}` : ""}. Daemons accept it with ` +
        "THIRD_PARTY_SIGNATURE_VERIFICATION_ENABLED=true and THIRD_PARTY_SIGNATURE_VERIFICATION_PUBLIC_KEYS=<the matching public key>",
    };
  }
  return {
    source,
    output: `unsigned${lost ? `: ${lost}` : ""}. Sign it (--sign-key) and trust that key on the daemons, or they need FORCE_VERIFYING_SIGNATURE=false`,
  };
}

export function repackageSummary(output: string, outcome: RepackageOutcome, maxPackageBytes: number): { text: string; json: unknown } {
  const signature = signatureLines(outcome);
  const size = outcome.bytes.length;
  const proof =
    outcome.proof.status === "passed"
      ? `passed: installed with no network on ${outcome.proof.platform} / CPython ${outcome.proof.pythonVersion}, imported ${outcome.proof.imported.join(", ") || "nothing"}`
      : `${outcome.proof.status} on ${outcome.proof.platform} / CPython ${outcome.proof.pythonVersion}: ${outcome.proof.message}`;
  const lines = [
    `wrote ${output}`,
    `  plugin:     ${outcome.identifier}`,
    `  size:       ${size} bytes (${mib(size)}), ${mib(maxPackageBytes - size)} under MAX_PLUGIN_PACKAGE_SIZE=${maxPackageBytes}`,
    `  sha256:     ${outcome.sha256}`,
    `  source:     ${outcome.sourceIdentifier}, ${signature.source}`,
    `  signature:  ${signature.output}`,
    ...outcome.wheels.map(
      (w, i) =>
        `  ${i === 0 ? "wheels:    " : "           "} ${w.platform} / CPython ${w.pythonVersion}: ${w.files.length} wheels, ${mib(w.files.reduce((n, f) => n + f.size, 0))}`,
    ),
    `  downloads:  ${outcome.downloads.fetched} from the index, ${outcome.downloads.fromCache} from the cache, ${outcome.downloads.built} built from sdists`,
    ...outcome.rewrites.map((r, i) => `  ${i === 0 ? "changes:   " : "           "} ${r}`),
    ...outcome.warnings.map((w, i) => `  ${i === 0 ? "notes:     " : "           "} ${w}`),
    `  proof:      ${proof}`,
  ];
  const { bytes: _bytes, ...rest } = outcome;
  return { text: lines.join("\n"), json: { output, size, maxPackageBytes, ...rest } };
}
