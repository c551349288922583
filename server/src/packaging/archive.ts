/**
 * The decoded form of a `.difypkg`: every file entry with its bytes, in zip order (the signature hashes entries
 * in that order), and the archive comment (where the signature lives). Produced by decode.ts from untrusted
 * bytes; everything downstream (checksum, signature, manifest) reads only this.
 */
export interface PackageEntry {
  /** The entry name as stored: `/`-separated, relative, already checked safe by the decoder. */
  readonly name: string;
  readonly data: Buffer;
}

export interface PackageArchive {
  /** File entries in zip (central directory) order. No directory entries. */
  readonly entries: readonly PackageEntry[];
  /** The zip archive comment, decoded as UTF-8 ("" when absent). */
  readonly comment: string;
}

/** PackageFiles is the by-name view the manifest loader needs, over a decoded archive or a source directory. */
export interface PackageFiles {
  /** Every file path, `/`-separated, relative to the plugin root. */
  readonly paths: readonly string[];
  /** The bytes of one file, or undefined when the package has no such file. */
  read(path: string): Buffer | undefined;
}

/** filesOf gives the by-name view of a decoded archive. */
export function filesOf(archive: PackageArchive): PackageFiles {
  const byName = new Map(archive.entries.map((e) => [e.name, e.data]));
  return { paths: [...byName.keys()], read: (path) => byName.get(path) };
}
