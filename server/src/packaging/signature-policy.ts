import type { PackagePolicy } from "../config.js";
import { SignatureError } from "../errors.js";
import type { Verification } from "./signature.js";
import { OFFICIAL_KEY_NAME } from "./trusted-keys.js";

/**
 * checkSignaturePolicy refuses a package the configured policy does not allow, saying why and which setting
 * would allow it. `requireSignature` is the per-upload request (Dify's `verify_signature`), on top of the
 * daemon-wide FORCE_VERIFYING_SIGNATURE.
 */
export function checkSignaturePolicy(
  verification: Verification,
  author: string,
  policy: Pick<PackagePolicy, "forceVerifyingSignature" | "enforceLanggeniusSignatures">,
  requireSignature = false,
): void {
  if (!verification.verified && (policy.forceVerifyingSignature || requireSignature)) {
    const allow = requireSignature
      ? "upload it without verify_signature, or sign it with a key the daemon trusts"
      : "sign it with a key listed in THIRD_PARTY_SIGNATURE_VERIFICATION_PUBLIC_KEYS (with THIRD_PARTY_SIGNATURE_VERIFICATION_ENABLED=true), or set FORCE_VERIFYING_SIGNATURE=false to allow unsigned packages";
    throw new SignatureError(
      `plugin verification has been enabled, and the plugin you want to install has a bad signature: ${verification.reason}; to install it, ${allow}`,
    );
  }
  const officialAuthor = author.toLowerCase() === "langgenius";
  // The category is whatever the signer wrote, so any trusted third-party key could claim "langgenius":
  // only the official key counts here.
  const official = verification.verified && verification.category === "langgenius" && verification.keyName === OFFICIAL_KEY_NAME;
  if (policy.enforceLanggeniusSignatures && officialAuthor && !official) {
    throw new SignatureError(
      "plugin installation blocked: this plugin claims to be from Langgenius but lacks official signature verification; " +
        "install the official package from the Marketplace, or set ENFORCE_LANGGENIUS_PLUGIN_SIGNATURES=false to allow it",
    );
  }
}
