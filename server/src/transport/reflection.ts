import { createRegistry, toBinary, type DescFile, type Registry } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ConnectRouter } from "@connectrpc/connect";
import * as v1 from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../../gen/grpc/reflection/v1alpha/reflection_pb.js";

/**
 * The gRPC server reflection protocol (v1 and v1alpha), served over the descriptors protoc-gen-es
 * embeds in gen/, so `buf curl` and grpcurl can list and call our services without the .proto files.
 * No npm package serves reflection for Connect-ES, hence this file.
 */

// The request and response shapes are identical in v1 and v1alpha; only the message type names differ.
type ReflectionRequest = v1.ServerReflectionRequest;
type ReflectionAnswer = v1.ServerReflectionResponse["messageResponse"];

/** registerReflection serves reflection for `services` (fully-qualified names) found in `files`. */
export function registerReflection(router: ConnectRouter, files: readonly DescFile[], services: readonly string[]): void {
  const index = createReflectionIndex(files);
  const answerAll = async function* (requests: AsyncIterable<ReflectionRequest>) {
    for await (const request of requests) {
      yield { validHost: request.host, originalRequest: request, messageResponse: answer(index, services, request) };
    }
  };
  router.service(v1.ServerReflection, { serverReflectionInfo: answerAll });
  router.service(v1alpha.ServerReflection, {
    serverReflectionInfo: answerAll as unknown as (
      requests: AsyncIterable<v1alpha.ServerReflectionRequest>,
    ) => AsyncIterable<v1alpha.ServerReflectionResponse>,
  });
}

interface ReflectionIndex {
  readonly registry: Registry;
  readonly byFileName: ReadonlyMap<string, DescFile>;
}

function createReflectionIndex(roots: readonly DescFile[]): ReflectionIndex {
  const byFileName = new Map<string, DescFile>();
  const visit = (file: DescFile): void => {
    if (byFileName.has(file.proto.name)) return;
    byFileName.set(file.proto.name, file);
    file.dependencies.forEach(visit);
  };
  roots.forEach(visit);
  const registry = createRegistry(...byFileName.values());
  return { registry, byFileName };
}

function answer(index: ReflectionIndex, services: readonly string[], request: ReflectionRequest): ReflectionAnswer {
  const ask = request.messageRequest;
  switch (ask.case) {
    case "listServices":
      return { case: "listServicesResponse", value: { service: services.map((name) => ({ name })) } as never };
    case "fileByFilename": {
      const file = index.byFileName.get(ask.value);
      return file ? fileAnswer(file) : notFound(`no file named ${ask.value}`);
    }
    case "fileContainingSymbol": {
      const file = fileOfSymbol(index.registry, ask.value);
      return file ? fileAnswer(file) : notFound(`no symbol named ${ask.value}`);
    }
    case "fileContainingExtension": {
      const ext = index.registry.getExtensionFor(
        index.registry.getMessage(ask.value.containingType) ?? ({ typeName: ask.value.containingType } as never),
        ask.value.extensionNumber,
      );
      return ext
        ? fileAnswer(ext.file)
        : notFound(`no extension ${ask.value.extensionNumber} of ${ask.value.containingType}`);
    }
    case "allExtensionNumbersOfType": {
      const message = index.registry.getMessage(ask.value);
      if (!message) return notFound(`no message type named ${ask.value}`);
      const numbers: number[] = [];
      for (const type of index.registry) {
        if (type.kind === "extension" && type.extendee.typeName === message.typeName) numbers.push(type.number);
      }
      return {
        case: "allExtensionNumbersResponse",
        value: { baseTypeName: message.typeName, extensionNumber: numbers } as never,
      };
    }
    default:
      return { case: "errorResponse", value: { errorCode: Code.InvalidArgument, errorMessage: "empty request" } as never };
  }
}

/** fileOfSymbol finds the file declaring a type, a service, or a method/field/value inside one. */
function fileOfSymbol(registry: Registry, symbol: string): DescFile | undefined {
  const direct = registry.get(symbol);
  if (direct) return direct.file;
  const dot = symbol.lastIndexOf(".");
  if (dot < 0) return undefined;
  const parent = registry.get(symbol.slice(0, dot));
  return parent?.file;
}

/**
 * fileAnswer returns the file and every file it imports, transitively, as gRPC servers do, so a
 * client can build the whole schema from one answer.
 */
function fileAnswer(file: DescFile): ReflectionAnswer {
  const ordered: DescFile[] = [];
  const seen = new Set<string>();
  const visit = (f: DescFile): void => {
    if (seen.has(f.proto.name)) return;
    seen.add(f.proto.name);
    ordered.push(f);
    f.dependencies.forEach(visit);
  };
  visit(file);
  return {
    case: "fileDescriptorResponse",
    value: { fileDescriptorProto: ordered.map((f) => toBinary(FileDescriptorProtoSchema, f.proto)) } as never,
  };
}

function notFound(message: string): ReflectionAnswer {
  return { case: "errorResponse", value: { errorCode: Code.NotFound, errorMessage: message } as never };
}
