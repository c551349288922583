/**
 * BlobStorage keeps the daemon's files (packages, icons and other assets) by key. Keys are `/`-separated
 * relative paths chosen by the daemon, e.g. `plugin_packages/<unique identifier>` or `assets/<asset id>`.
 * The local directory driver is the default; an S3-compatible one can implement the same interface.
 */
export interface BlobStorage {
  /** put stores bytes under key, replacing what was there; readers never see a half-written blob. */
  put(key: string, data: Buffer): Promise<void>;
  /** get returns the bytes under key, or undefined when there are none. */
  get(key: string): Promise<Buffer | undefined>;
  exists(key: string): Promise<boolean>;
  /** delete removes key; deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** A description for logs, without secrets. */
  readonly description: string;
}

/** The keys the daemon stores under, in one place so every module agrees. */
export const blobKeys = {
  package: (uniqueIdentifier: string) => `plugin_packages/${uniqueIdentifier}`,
  asset: (assetId: string) => `assets/${assetId}`,
};
