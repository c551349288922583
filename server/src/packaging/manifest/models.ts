import { posix } from "node:path";
import type { PackageFiles } from "../archive.js";
import { at, fail, quote, type Site } from "./fail.js";
import { BadGlobError, compileGlob } from "./glob.js";
import {
  MODEL_POSITION_TYPES,
  modelDeclaration,
  modelProviderFile,
  type ModelDeclarationJson,
  type ModelPositionJson,
  type ParameterRuleJson,
} from "./model-schema.js";
import { PARAMETER_TEMPLATES } from "./parameter-templates.js";
import { readReference } from "./paths.js";
import { readDeclarationFile, type LoadedProvider } from "./providers.js";
import { parseShape } from "./shape.js";
import type { ModelProviderJson } from "./types.js";
import { isMapping, parseYamlDocument, readYamlValue, toMapping } from "./yaml-file.js";

/**
 * Model provider: the provider file, then its models. `models:` is either a list of inline model declarations or a
 * mapping by model type (llm, text_embedding, rerank, tts, speech2text, moderation; other keys are ignored, as in Go)
 * whose `predefined` globs select model files among all package files and whose `position` names a YAML list of
 * model names. Files ending in `_position.yaml` are never models.
 */
export function loadModelProvider(files: PackageFiles, ref: string, site: Site): LoadedProvider<ModelProviderJson> {
  const file = readDeclarationFile(files, ref, site);
  const parsed = parseShape(modelProviderFile, file.value, file.site, "invalid_declaration");
  const { models: declared, position: declaredPosition, ...rest } = parsed;

  const models: ModelDeclarationJson[] = [];
  let position: ModelPositionJson | undefined = declaredPosition;
  const itemSites: Site[] = [];
  if (Array.isArray(declared)) {
    declared.forEach((entry, index) => {
      const itemSite = at(file.site, "models", index);
      models.push(normaliseModel(parseShape(modelDeclaration, entry, itemSite, "invalid_declaration"), itemSite));
      itemSites.push(itemSite);
    });
  } else if (isMapping(declared)) {
    position = {};
    const patterns: RegExp[] = [];
    for (const type of MODEL_POSITION_TYPES) {
      const entry = declared[type];
      if (!isMapping(entry)) continue;
      const positionSite = at(file.site, "models", type, "position");
      if (typeof entry.position === "string" || typeof entry.position === "number") {
        position[type] = readPositionFile(files, String(entry.position), positionSite);
      } else if (entry.position !== undefined && entry.position !== null) {
        fail("invalid_declaration", positionSite, "expected the path of a YAML list of model names");
      }
      if (Array.isArray(entry.predefined)) {
        entry.predefined.forEach((pattern, index) => {
          patterns.push(compilePattern(pattern, at(file.site, "models", type, "predefined", index)));
        });
      }
    }
    // Go walks every package file and appends one declaration per matching pattern; one per file is what is meant.
    for (const path of files.paths) {
      if (path.endsWith("_position.yaml") || !patterns.some((p) => p.test(path))) continue;
      const data = files.read(path);
      if (data === undefined) continue;
      const modelSite = { file: path, field: "" };
      const value = toMapping(parseYamlDocument(data, path), path, "invalid_declaration");
      models.push(normaliseModel(parseShape(modelDeclaration, value, modelSite, "invalid_declaration"), modelSite));
      itemSites.push(modelSite);
    }
  } else if (declared !== undefined && declared !== null) {
    fail("invalid_declaration", at(file.site, "models"), "expected a list of models or a mapping by model type");
  }

  const json: ModelProviderJson = { ...rest, ...(position === undefined ? {} : { position }), models };
  return { json, file: file.site.file, itemSites };
}

/** A glob is a reference too: normalised and confined to the package like any path, then compiled. */
function compilePattern(pattern: unknown, site: Site): RegExp {
  if (typeof pattern !== "string" || pattern === "") {
    fail("invalid_declaration", site, "expected a glob such as models/llm/*.yaml");
  }
  if (pattern.startsWith("/") || pattern.includes("\\") || /^[A-Za-z]:/.test(pattern)) {
    fail("invalid_declaration", site, `${quote(pattern)} must be a relative, "/"-separated path`);
  }
  const normal = posix.normalize(pattern);
  if (normal === ".." || normal.startsWith("../")) {
    fail("invalid_declaration", site, `${quote(pattern)} points outside the package root`);
  }
  try {
    return compileGlob(normal);
  } catch (err) {
    if (err instanceof BadGlobError) {
      fail("invalid_declaration", site, `${quote(pattern)} is not a valid glob: ${err.message}`);
    }
    throw err;
  }
}

/** A position file is a YAML list of model names. */
function readPositionFile(files: PackageFiles, ref: string, site: Site): string[] {
  const { path, data } = readReference(files, ref, site);
  const value = readYamlValue(data, { file: path, field: "" });
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    fail("invalid_declaration", { file: path, field: "" }, "expected a YAML list of model names");
  }
  return value.map((name, index) => {
    if (typeof name === "string" || typeof name === "number" || typeof name === "boolean") return String(name);
    return fail("invalid_declaration", { file: path, field: `[${index}]` }, "expected a model name");
  });
}

/**
 * normaliseModel does what Go's decoder and JSON writer do to a model: a missing English label becomes the model
 * name, and each parameter rule is completed from its `use_template` (an unknown template fails the whole package).
 */
function normaliseModel(model: ModelDeclarationJson, site: Site): ModelDeclarationJson {
  const { model: name, label: declared, ...rest } = model;
  const parameter_rules = model.parameter_rules.map((rule, i) => applyTemplate(rule, at(site, "parameter_rules", i)));
  const label = declared?.en_US ? declared : { ...declared, en_US: name ?? "" };
  return { model: name, label, ...rest, parameter_rules };
}

function applyTemplate(rule: ParameterRuleJson, site: Site): ParameterRuleJson {
  // Go replaces a label without English by the rule's name before it looks at the template, so a template's label
  // is never used.
  const { name, use_template, label: declared, ...rest } = rule;
  const label = declared?.en_US ? declared : { en_US: name ?? "" };
  const out: ParameterRuleJson = { name, use_template, label, ...rest };
  if (rule.use_template) {
    const template = PARAMETER_TEMPLATES[rule.use_template];
    if (template === undefined) {
      fail(
        "invalid_declaration",
        at(site, "use_template"),
        `${quote(rule.use_template)} is not a parameter template; use one of ${Object.keys(PARAMETER_TEMPLATES).join(", ")}`,
      );
    }
    out.type ??= template.type;
    out.help ??= template.help;
    if (out.default === undefined || out.default === null) out.default = template.default;
    out.min ??= template.min;
    out.max ??= template.max;
    out.precision ??= template.precision;
    out.options ??= template.options ? [...template.options] : undefined;
  }
  out.options ??= [];
  return out;
}
