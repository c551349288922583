import type { DescMessage, DescMethodServerStreaming, DescMethodUnary, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import type { InvokeContextSchema } from "../../../../gen/dify/plugin/v1/common_pb.js";
import { BindError, optObject, optString } from "./binding.js";
import { DispatchData } from "./dispatch-data.js";
import { difyError, errorEnvelope, ErrorType, successEnvelope, type DifyError } from "./envelope.js";
import { difyErrorOf, failsInStream, failureOf, streamErrorOf } from "./error-table.js";
import { header, write, writeJson } from "./http-io.js";
import { jsonBody, tenantOf, type DifyRoute, type RouteContext } from "./route.js";
import { callStream, callUnary } from "./rpc.js";

/**
 * The dispatch routes' shared machinery (spec/dify-http-api.md §1.4, §2.5, §6.1): bind the body, call the
 * InvokeService RPC, and stream its answers as `data: <envelope>\n\n` lines. Errors before the stream starts take
 * the middleware's statuses (400 bad body, 404 plugin not installed, 500 no runtime); an error the plugin causes
 * once it runs is an error event inside a 200 stream, after which nothing more is written.
 */

export const DISPATCH = "/plugin/:tenant_id/dispatch";

/** The fields every InvokeService request starts with (tenant, plugin, user, context), from the path, header and body. */
interface Common {
  readonly tenantId: string;
  readonly pluginId: string;
  readonly userId: string;
  readonly context: MessageInitShape<typeof InvokeContextSchema>;
}

const optId = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

const PLUGIN_NOT_FOUND = difyError(-404, ErrorType.pluginNotFound, "plugin not found");

type Bind<I extends DescMessage> = (data: DispatchData, common: Common) => Omit<MessageInitShape<I>, keyof Common | "$typeName">;

/** unaryDispatch: an RPC whose one answer is the stream's one chunk. */
export function unaryDispatch<I extends DescMessage, O extends DescMessage>(
  path: string,
  method: DescMethodUnary<I, O>,
  bind: Bind<I>,
  render: (answer: MessageShape<O>) => unknown,
): DifyRoute {
  return streamRoute(path, bind, async function* (ctx, input) {
    yield render(await callUnary(ctx.services.invoke, method, input as MessageInitShape<I>, ctx.scope));
  });
}

/** streamDispatch: a streaming RPC, one chunk per message. */
export function streamDispatch<I extends DescMessage, O extends DescMessage>(
  path: string,
  method: DescMethodServerStreaming<I, O>,
  bind: Bind<I>,
  render: (answer: MessageShape<O>) => unknown,
): DifyRoute {
  return streamRoute(path, bind, async function* (ctx, input) {
    for await (const message of callStream(ctx.services.invoke, method, input as MessageInitShape<I>, ctx.scope)) yield render(message);
  });
}

/**
 * envelopeDispatch: a dispatch action answered with a JSON envelope instead of a stream (model polling): 200 with
 * the answer; a plugin's error is a 500 PluginInvokeError envelope, as in Go.
 */
export function envelopeDispatch<I extends DescMessage, O extends DescMessage>(
  path: string,
  method: DescMethodUnary<I, O>,
  bind: Bind<I>,
  render: (answer: MessageShape<O>) => unknown,
): DifyRoute {
  return dispatchRoute(path, bind, async (ctx, input) => {
    let answer: MessageShape<O>;
    try {
      answer = await callUnary(ctx.services.invoke, method, input as MessageInitShape<I>, ctx.scope);
    } catch (err) {
      const failure = failureOf(err, ctx.logger, ctx.routeName);
      const [status, error] = failsInStream(failure) ? [500, streamErrorOf(failure)] : preStreamAnswer(failure.connect.code, difyErrorOf(failure));
      writeJson(ctx.res, status, errorEnvelope(error));
      return;
    }
    writeJson(ctx.res, 200, successEnvelope(render(answer)));
  });
}

/** streamRoute answers with Dify's SSE stream of what `produce` yields. */
function streamRoute<I extends DescMessage>(path: string, bind: Bind<I>, produce: (ctx: RouteContext, input: object) => AsyncGenerator<unknown>): DifyRoute {
  return dispatchRoute(path, bind, (ctx, input) => stream(ctx, produce(ctx, input)));
}

/** dispatchRoute is a POST under the dispatch prefix whose body is bound (or refused with Dify's 400) before `answer` runs. */
function dispatchRoute<I extends DescMessage>(path: string, bind: Bind<I>, answer: (ctx: RouteContext, input: object) => Promise<void>): DifyRoute {
  return {
    method: "POST",
    path: `${DISPATCH}/${path}`,
    auth: true,
    async handle(ctx) {
      const input = await bindOrRefuse(ctx, bind);
      if (input !== undefined) await answer(ctx, input);
    },
  };
}

/** bindOrRefuse binds the dispatch body, or answers Dify's 400 envelope and returns undefined. */
async function bindOrRefuse<I extends DescMessage>(ctx: RouteContext, bind: Bind<I>): Promise<object | undefined> {
  try {
    return await bindInput(ctx, bind);
  } catch (err) {
    if (!(err instanceof BindError)) throw err;
    writeJson(ctx.res, 400, errorEnvelope(difyError(-400, ErrorType.badRequest, err.message)));
    return undefined;
  }
}

async function bindInput<I extends DescMessage>(ctx: RouteContext, bind: Bind<I>): Promise<object> {
  const pluginId = header(ctx.req, "x-plugin-id");
  if (pluginId === "") throw new BindError("plugin_id is required");
  const body = await jsonBody(ctx);
  const data = optObject(body["data"]);
  if (!data) throw BindError.field("InvokePluginRequest.Data", "required");
  const difyContext = optObject(body["context"]);
  const common: Common = {
    tenantId: tenantOf(ctx),
    pluginId,
    // Newer Dify leaves user_id out when it knows none; Go reads that as "".
    userId: optString(body["user_id"]),
    context: {
      conversationId: optId(body["conversation_id"]),
      messageId: optId(body["message_id"]),
      appId: optId(body["app_id"]),
      endpointId: optId(body["endpoint_id"]),
      difyContext: difyContext as MessageInitShape<typeof InvokeContextSchema>["difyContext"],
    },
  };
  return { ...common, ...bind(new DispatchData(data), common) };
}

/** preStreamAnswer: the status and envelope of a failure before the first chunk that Go reports outside a stream. */
function preStreamAnswer(code: Code, error: DifyError): [number, DifyError] {
  if (code === Code.NotFound) return [404, PLUGIN_NOT_FOUND];
  if (code === Code.InvalidArgument) return [400, error];
  return [500, difyError(-500, ErrorType.internal, error.message)];
}

async function stream(ctx: RouteContext, chunks: AsyncGenerator<unknown>): Promise<void> {
  const { res } = ctx;
  let first: IteratorResult<unknown>;
  try {
    first = await chunks.next();
  } catch (err) {
    const failure = failureOf(err, ctx.logger, ctx.routeName);
    if (!failsInStream(failure)) {
      const [status, error] = preStreamAnswer(failure.connect.code, difyErrorOf(failure));
      ctx.logger.warn({ route: ctx.routeName, status, error: failure.connect.rawMessage }, "dify dispatch failed");
      writeJson(res, status, errorEnvelope(error));
      return;
    }
    startStream(ctx);
    await event(ctx, errorEnvelope(streamErrorOf(failure)));
    res.end();
    return;
  }
  startStream(ctx);
  try {
    for (let next = first; !next.done; next = await chunks.next()) {
      if (ctx.scope.signal.aborted) break;
      await event(ctx, successEnvelope(next.value));
    }
  } catch (err) {
    const failure = failureOf(err, ctx.logger, ctx.routeName);
    ctx.logger.warn({ route: ctx.routeName, error: failure.connect.rawMessage }, "dify dispatch stream failed");
    await event(ctx, errorEnvelope(streamErrorOf(failure)));
  } finally {
    // Ends the RPC (and the plugin session) when the client went away mid-stream.
    await chunks.return(undefined);
  }
  res.end();
}

function startStream(ctx: RouteContext): void {
  ctx.res.writeHead(200, { "content-type": "text/event-stream" });
}

function event(ctx: RouteContext, envelope: string): Promise<void> {
  if (ctx.scope.signal.aborted) return Promise.resolve();
  return write(ctx.res, `data: ${envelope}\n\n`);
}
