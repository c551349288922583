import { describe, expect, it } from "vitest";
import { rawHttpRequest } from "./endpoint-request.js";

const split = (raw: Buffer) => {
  const text = raw.toString("latin1");
  const at = text.indexOf("\r\n\r\n");
  return { lines: text.slice(0, at).split("\r\n"), body: text.slice(at + 4) };
};

describe("rawHttpRequest", () => {
  it("writes the request relative to the hook with the original host, a length, the hook headers and the body", () => {
    const raw = rawHttpRequest({
      method: "POST",
      path: "/some/path%20x",
      query: "a=1&b=two",
      rawHeaders: [
        "Host", "daemon:5002",
        "X-Original-Host", "public.example.com",
        "Content-Type", "application/json",
        "Transfer-Encoding", "chunked",
        "X-Forwarded-For", "10.0.0.1",
        "X-Real-IP", "10.0.0.1",
        "X-Custom", "one",
        "x-custom", "two",
      ],
      body: Buffer.from('{"x":1}'),
      hookId: "abcdefghij012345",
      tls: false,
    });
    const { lines, body } = split(raw);
    expect(lines).toEqual([
      "POST /some/path%20x?a=1&b=two HTTP/1.1",
      "Host: public.example.com",
      "Content-Type: application/json",
      "X-Custom: one",
      "x-custom: two",
      "Content-Length: 7",
      "Dify-Hook-Id: abcdefghij012345",
      "Dify-Hook-Url: http://public.example.com/e/abcdefghij012345/some/path%20x",
    ]);
    expect(body).toBe('{"x":1}');
  });

  it("keeps a Dify-Hook-Url the caller set, uses https behind a TLS proxy, and sends no length for an empty GET", () => {
    const raw = rawHttpRequest({
      method: "GET",
      path: "/",
      query: "",
      rawHeaders: ["Host", "h", "X-Forwarded-Proto", "https"],
      body: Buffer.alloc(0),
      hookId: "hook",
      tls: false,
    });
    expect(split(raw).lines).toEqual(["GET / HTTP/1.1", "Host: h", "X-Forwarded-Proto: https", "Dify-Hook-Id: hook", "Dify-Hook-Url: https://h/e/hook/"]);
    const kept = rawHttpRequest({ method: "GET", path: "/p", query: "", rawHeaders: ["Host", "h", "Dify-Hook-Url", "https://x/e/hook/p"], body: Buffer.alloc(0), hookId: "hook", tls: true });
    expect(split(kept).lines).toEqual(["GET /p HTTP/1.1", "Host: h", "Dify-Hook-Url: https://x/e/hook/p", "Dify-Hook-Id: hook"]);
  });
});
