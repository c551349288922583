import { InvalidArgumentError, RuntimeUnavailableError } from "../errors.js";
import { PackageError } from "../packaging/errors.js";

/** Where packages come from besides uploads: the Dify Marketplace and GitHub release assets. */
export interface PackageSources {
  marketplace(ref: { author: string; name: string; version: string } | { uniqueIdentifier: string }): Promise<Buffer>;
  github(asset: { repo: string; release: string; asset: string }): Promise<Buffer>;
}

const SEGMENT = /^[A-Za-z0-9._-]{1,255}$/;

/**
 * createPackageSources downloads packages with a size cap enforced while reading (never buffering more than
 * the package limit), a timeout, and an HTTP status check: an error page must not become a "package". What
 * arrives is only bytes; the caller decodes and verifies it like any upload.
 */
export function createPackageSources(options: {
  readonly marketplaceUrl: string;
  readonly githubUrl: string;
  readonly maxPackageBytes: number;
  readonly timeoutMs?: number;
  /** Ends a download early, when whoever wanted the package went away. */
  readonly signal?: AbortSignal;
}): PackageSources {
  const marketplace = options.marketplaceUrl.replace(/\/+$/, "");
  const github = options.githubUrl.replace(/\/+$/, "");

  async function download(url: string, what: string): Promise<Buffer> {
    const timeout = AbortSignal.timeout(options.timeoutMs ?? 120_000);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const response = await fetch(url, { redirect: "follow", signal }).catch((err: unknown) => {
      throw new RuntimeUnavailableError(`cannot download ${what} from ${url}: ${(err as Error).message}`, { cause: err });
    });
    if (!response.ok) {
      throw new InvalidArgumentError(`cannot download ${what}: ${url} answered HTTP ${response.status}; check the name, version and release`);
    }
    const declared = Number(response.headers.get("content-length") ?? "0");
    if (declared > options.maxPackageBytes) throw tooLarge(what, declared, options.maxPackageBytes);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body ?? []) {
      size += chunk.length;
      if (size > options.maxPackageBytes) throw tooLarge(what, size, options.maxPackageBytes);
      chunks.push(Buffer.from(chunk));
    }
    return Buffer.concat(chunks, size);
  }

  return {
    marketplace(ref) {
      if ("uniqueIdentifier" in ref) {
        return download(`${marketplace}/api/v1/plugins/download?unique_identifier=${encodeURIComponent(ref.uniqueIdentifier)}`, ref.uniqueIdentifier);
      }
      for (const [field, value] of Object.entries(ref)) {
        if (!SEGMENT.test(value)) throw new InvalidArgumentError(`marketplace ${field} ${JSON.stringify(value)} is not a valid name`);
      }
      return download(`${marketplace}/api/v1/plugins/${ref.author}/${ref.name}/${ref.version}/download`, `${ref.author}/${ref.name}:${ref.version}`);
    },
    github(asset) {
      // "owner/repo", or a full repository URL as users paste it.
      const repo = asset.repo.replace(/^https?:\/\/[^/]+\//, "").replace(/\.git$/, "").replace(/\/+$/, "");
      const parts = repo.split("/");
      if (parts.length !== 2 || !parts.every((p) => SEGMENT.test(p))) {
        throw new InvalidArgumentError(`repo ${JSON.stringify(asset.repo)} is not owner/name or a repository URL`);
      }
      for (const [field, value] of [["release", asset.release], ["asset", asset.asset]] as const) {
        if (!SEGMENT.test(value)) throw new InvalidArgumentError(`${field} ${JSON.stringify(value)} is not a valid name`);
      }
      return download(`${github}/${repo}/releases/download/${asset.release}/${asset.asset}`, `${repo} ${asset.release} ${asset.asset}`);
    },
  };
}

function tooLarge(what: string, size: number, limit: number): PackageError {
  return new PackageError("too_large", `${what} is ${size} bytes or more, over the ${limit}-byte MAX_PLUGIN_PACKAGE_SIZE`, { limit });
}
