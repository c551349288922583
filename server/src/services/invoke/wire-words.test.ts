import { describe, expect, it } from "vitest";
import { PromptMessageRole } from "../../../../gen/dify/plugin/v1/model_pb.js";
import { ROLES } from "./llm-chunks.js";
import { wordsByValue } from "./wire-words.js";

describe("wordsByValue", () => {
  it("gives each enum value back its wire word, and nothing for a value without one", () => {
    const words = wordsByValue(ROLES);
    expect(words[PromptMessageRole.ASSISTANT]).toBe("assistant");
    expect(words[PromptMessageRole.TOOL]).toBe("tool");
    expect(words[PromptMessageRole.UNSPECIFIED]).toBeUndefined();
    for (const [word, value] of Object.entries(ROLES)) expect(words[value]).toBe(word);
  });
});
