import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.js";

describe("loadConfig", () => {
  it("starts on the embedded defaults with an empty environment", () => {
    const config = loadConfig({}, "/srv/daemon");
    expect(config.server).toEqual({ host: "0.0.0.0", port: 5002, key: null, shutdownGraceMs: 10_000 });
    expect(config.database).toEqual({ kind: "pglite", directory: "/srv/daemon/data/pglite" });
    expect(Object.isFrozen(config.server)).toBe(true);
  });

  it("prefers DB_URL, and builds a URL from the Go daemon's DB_* variables otherwise", () => {
    const fromUrl = loadConfig({ DB_URL: "postgres://u:secret@db:5432/x", DB_HOST: "ignored" });
    expect(fromUrl.database).toMatchObject({ kind: "postgres", url: "postgres://u:secret@db:5432/x" });
    expect(fromUrl.database.kind === "postgres" && fromUrl.database.displayUrl).not.toContain("secret");

    const fromParts = loadConfig({ DB_HOST: "db", DB_PORT: "6543", DB_USERNAME: "dify", DB_PASSWORD: "p@ss/word", DB_DATABASE: "plugins" });
    expect(fromParts.database.kind).toBe("postgres");
    const url = new URL(fromParts.database.kind === "postgres" ? fromParts.database.url : "");
    expect([url.hostname, url.port, url.username, decodeURIComponent(url.password), url.pathname]).toEqual([
      "db",
      "6543",
      "dify",
      "p@ss/word",
      "/plugins",
    ]);
  });

  it("treats empty strings as unset, like the Go daemon", () => {
    expect(loadConfig({ SERVER_PORT: "", DB_URL: "" }).server.port).toBe(5002);
  });

  it.each([
    ["SERVER_PORT", "abc", "port number"],
    ["SERVER_PORT", "70000", "1-65535"],
    ["LOG_LEVEL", "loud", "DEBUG, INFO, WARN, ERROR"],
    ["DB_URL", "mysql://x", "postgres://"],
    ["DB_SSL_MODE", "verify-full", "disable, require"],
  ])("rejects %s=%s naming the variable and what it accepts", (name, value, accepted) => {
    const attempt = () => loadConfig({ [name]: value });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(name);
    expect(attempt).toThrow(accepted);
  });

  it("reports every bad variable at once", () => {
    try {
      loadConfig({ SERVER_PORT: "x", LOG_LEVEL: "y" });
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).problems).toHaveLength(2);
    }
  });

  it("reads the package policy with the Go daemon's defaults and key list rules", () => {
    const defaults = loadConfig({}, "/srv/daemon");
    expect(defaults.packages).toEqual({
      maxPackageBytes: 52_428_800,
      maxBundleBytes: 629_145_600,
      forceVerifyingSignature: true,
      enforceLanggeniusSignatures: true,
      thirdPartyPublicKeyFiles: [],
    });
    expect(defaults.storage).toEqual({ kind: "local", root: "/srv/daemon/data/storage" });

    const keysWithoutSwitch = loadConfig({ THIRD_PARTY_SIGNATURE_VERIFICATION_PUBLIC_KEYS: "a.pem" }, "/srv");
    expect(keysWithoutSwitch.packages.thirdPartyPublicKeyFiles).toEqual([]);
    const keys = loadConfig(
      { THIRD_PARTY_SIGNATURE_VERIFICATION_ENABLED: "true", THIRD_PARTY_SIGNATURE_VERIFICATION_PUBLIC_KEYS: " a.pem, /k/b.pem ,", FORCE_VERIFYING_SIGNATURE: "false" },
      "/srv",
    );
    expect(keys.packages.thirdPartyPublicKeyFiles).toEqual(["/srv/a.pem", "/k/b.pem"]);
    expect(keys.packages.forceVerifyingSignature).toBe(false);
    expect(loadConfig({ PLUGIN_STORAGE_LOCAL_ROOT: "./storage" }, "/srv").storage.root).toBe("/srv/storage");
  });

  it("names a bad boolean and what it accepts", () => {
    expect(() => loadConfig({ FORCE_VERIFYING_SIGNATURE: "yes" })).toThrow('FORCE_VERIFYING_SIGNATURE="yes": must be true or false');
  });
});
