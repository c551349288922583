import { PackageError } from "./errors.js";

/**
 * A plugin's unique identifier, `author/name:version@checksum`, as the Go daemon parses and validates it.
 * The author is optional (`name:version@checksum`); the version has 2-4 numeric parts here (the manifest
 * insists on exactly 3) and an optional `-suffix`; the checksum is 32-64 lowercase hex characters.
 */
const UNIQUE_IDENTIFIER =
  /^(?:([a-z0-9_-]{1,64})\/)?([a-z0-9_-]{1,255}):([0-9]{1,4}(?:\.[0-9]{1,4}){1,3}(?:-\w{1,16})?)@([a-f0-9]{32,64})$/;

export interface UniqueIdentifier {
  /** "" when the identifier has no author part. */
  readonly author: string;
  readonly name: string;
  readonly version: string;
  readonly checksum: string;
}

/** parseUniqueIdentifier splits and validates an identifier, or throws a PackageError saying what shape is expected. */
export function parseUniqueIdentifier(text: string): UniqueIdentifier {
  const match = UNIQUE_IDENTIFIER.exec(text);
  if (!match) {
    throw new PackageError(
      "invalid_identifier",
      `"${text.slice(0, 600)}" is not a plugin unique identifier: expected author/name:version@checksum, e.g. langgenius/openai:0.0.1@<64 hex>`,
    );
  }
  const [, author = "", name = "", version = "", checksum = ""] = match;
  return { author, name, version, checksum };
}

/** isUniqueIdentifier tells whether text has the identifier shape, without throwing. */
export function isUniqueIdentifier(text: string): boolean {
  return UNIQUE_IDENTIFIER.test(text);
}

/** pluginIdOf is `author/name` (or just `name` without an author), the key a tenant installs by. */
export function pluginIdOf(id: Pick<UniqueIdentifier, "author" | "name">): string {
  return id.author ? `${id.author}/${id.name}` : id.name;
}

/** formatUniqueIdentifier is the inverse of parseUniqueIdentifier. */
export function formatUniqueIdentifier(id: UniqueIdentifier): string {
  return `${pluginIdOf(id)}:${id.version}@${id.checksum}`;
}
