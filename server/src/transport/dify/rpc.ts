import { create, type DescMessage, type DescMethodServerStreaming, type DescMethodUnary, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createHandlerContext, type HandlerContext } from "@connectrpc/connect";
import { unimplemented } from "./error-table.js";

/** How one Dify request calls the services: its HTTP method, URL, headers, and the signal that ends it. */
export interface CallScope {
  readonly requestMethod: string;
  readonly url: string;
  readonly headers: Headers;
  /** Aborted when the Dify client goes away. */
  readonly signal: AbortSignal;
}

type UnaryImpl<I extends DescMessage, O extends DescMessage> = (req: MessageShape<I>, ctx: HandlerContext) => Promise<MessageInitShape<O>> | MessageInitShape<O>;
type ServerStreamingImpl<I extends DescMessage, O extends DescMessage> = (req: MessageShape<I>, ctx: HandlerContext) => AsyncIterable<MessageInitShape<O>>;

/** The protocol name the services see in their handler context for calls made by the Dify dialect. */
export const DIFY_PROTOCOL = "dify-http";

/**
 * The reason a call's context is aborted with once the call is over, so that work still tied to its signal
 * stops. Left out, every call would build a DOMException with a stack trace nobody reads (tens of µs on the
 * hot path of every dispatch); the end of a call is not an error, so one reason serves them all. Being shared, it
 * must never be changed (its metadata included) by code that reads it from a signal.
 */
const CALL_ENDED = new ConnectError("the call ended", Code.Canceled);

function contextFor(method: DescMethodUnary | DescMethodServerStreaming, scope: CallScope) {
  return createHandlerContext({
    service: method.parent,
    method,
    protocolName: DIFY_PROTOCOL,
    requestMethod: scope.requestMethod,
    url: scope.url,
    requestSignal: scope.signal,
    requestHeader: scope.headers,
  });
}

function implOf(impl: object, method: DescMethodUnary | DescMethodServerStreaming): ((req: unknown, ctx: HandlerContext) => unknown) | undefined {
  const fn = (impl as Record<string, unknown>)[method.localName];
  return typeof fn === "function" ? (fn as (req: unknown, ctx: HandlerContext) => unknown).bind(impl) : undefined;
}

/**
 * callUnary runs one unary RPC of a service implementation, as the Connect adapter would: the request message is
 * built from `input`, the handler context carries the Dify request's method, URL, headers and signal. An RPC the
 * (partial) implementation leaves out fails with Unimplemented.
 */
export async function callUnary<I extends DescMessage, O extends DescMessage>(
  impl: object,
  method: DescMethodUnary<I, O>,
  input: MessageInitShape<I>,
  scope: CallScope,
): Promise<MessageShape<O>> {
  const fn = implOf(impl, method) as UnaryImpl<I, O> | undefined;
  if (!fn) throw unimplemented(`${method.parent.typeName}/${method.name}`);
  const ctx = contextFor(method, scope);
  try {
    return create(method.output, await fn(create(method.input, input), ctx));
  } finally {
    ctx.abort(CALL_ENDED);
  }
}

/** callStream runs one server-streaming RPC and yields its messages; ending the iteration ends the RPC. */
export async function* callStream<I extends DescMessage, O extends DescMessage>(
  impl: object,
  method: DescMethodServerStreaming<I, O>,
  input: MessageInitShape<I>,
  scope: CallScope,
): AsyncGenerator<MessageShape<O>> {
  const fn = implOf(impl, method) as ServerStreamingImpl<I, O> | undefined;
  if (!fn) throw unimplemented(`${method.parent.typeName}/${method.name}`);
  const ctx = contextFor(method, scope);
  try {
    for await (const message of fn(create(method.input, input), ctx)) yield create(method.output, message);
  } finally {
    ctx.abort(CALL_ENDED);
  }
}
