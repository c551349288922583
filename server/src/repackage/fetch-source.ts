/**
 * Fetching the package to repackage, and the name its output takes: the reference tool's names, so that
 * operators find `<author>-<name>_<version>-offline.difypkg` (market), `<asset>-<tag>-offline.difypkg`
 * (github) and `<file>-offline.difypkg` (local) where they expect them.
 */
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { InvalidArgumentError } from "../errors.js";
import { createPackageSources } from "../plugins/sources.js";
import type { RepackageSource } from "./types.js";

export interface FetchedSource {
  readonly bytes: Buffer;
  /** The output's base name before `-<suffix>.difypkg`; undefined for bytes (named from the manifest). */
  readonly baseName?: string;
  /** Where it came from, for messages. */
  readonly description: string;
}

const withoutExtension = (file: string): string => file.replace(/\.difypkg$/i, "");

export async function fetchSource(
  source: RepackageSource,
  options: { readonly marketplaceUrl: string; readonly githubUrl: string; readonly maxPackageBytes: number; readonly signal?: AbortSignal },
): Promise<FetchedSource> {
  switch (source.kind) {
    case "market": {
      const sources = createPackageSources(options);
      const bytes = await sources.marketplace({ author: source.author, name: source.name, version: source.version });
      return {
        bytes,
        baseName: `${source.author}-${source.name}_${source.version}`,
        description: `${source.author}/${source.name} ${source.version} from ${options.marketplaceUrl}`,
      };
    }
    case "github": {
      const sources = createPackageSources(options);
      const bytes = await sources.github(source);
      return { bytes, baseName: `${withoutExtension(source.asset)}-${source.release}`, description: `${source.repo} ${source.release} ${source.asset}` };
    }
    case "local": {
      const file = path.resolve(source.path);
      const info = await stat(file).catch(() => undefined);
      if (!info?.isFile()) throw new InvalidArgumentError(`${file} is not a file; give the path of a .difypkg`);
      if (info.size > options.maxPackageBytes) {
        throw new InvalidArgumentError(`${file} is ${info.size} bytes, over the ${options.maxPackageBytes}-byte limit on source packages`);
      }
      return { bytes: await readFile(file), baseName: withoutExtension(path.basename(file)), description: file };
    }
    case "bytes":
      return { bytes: source.bytes, description: "the uploaded package" };
  }
}

/** outputFileName: `<base>-<suffix>.difypkg`, with anything a file name should not hold replaced. */
export function outputFileName(baseName: string, suffix: string): string {
  return `${baseName}-${suffix}.difypkg`.replace(/[^A-Za-z0-9._@+-]/g, "_");
}
