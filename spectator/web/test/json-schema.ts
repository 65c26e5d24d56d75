// A small JSON Schema (2020-12) checker for the keywords messages/wire-schema.json uses, so the
// page's tests judge frames by the contract itself with no new dependency. Unknown keywords
// fail loudly: a schema that grows past this checker must grow the checker too.

type Schema = Record<string, unknown>;

const KNOWN = new Set([
  "$schema", "$id", "$ref", "$defs", "title", "description", "examples", "contentMediaType",
  "type", "enum", "const", "properties", "required", "additionalProperties", "items",
  "minItems", "maxItems", "minLength", "maxLength", "minimum", "maximum", "pattern",
  "allOf", "anyOf", "oneOf", "not", "if", "then",
]);

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class SchemaChecker {
  constructor(private readonly root: Schema) {}

  /** Whether `value` is valid against the definition `name` of the root's $defs. */
  valid(name: string, value: unknown): boolean {
    return this.check({ $ref: `#/$defs/${name}` }, value);
  }

  def(name: string): Schema {
    const defs = this.root["$defs"] as Record<string, Schema>;
    const found = defs[name];
    if (found === undefined) throw new Error(`no definition ${name}`);
    return found;
  }

  private check(schema: Schema, value: unknown): boolean {
    for (const key of Object.keys(schema)) {
      if (!KNOWN.has(key)) throw new Error(`keyword ${key} is not supported by this checker`);
    }
    const ref = schema["$ref"];
    if (typeof ref === "string" && !this.check(this.def(ref.replace("#/$defs/", "")), value)) {
      return false;
    }
    const kind = typeOf(value);
    const type = schema["type"];
    if (type !== undefined) {
      const types = Array.isArray(type) ? type : [type];
      const ok = types.includes(kind) || (kind === "integer" && types.includes("number"));
      if (!ok) return false;
    }
    const choices = schema["enum"];
    if (Array.isArray(choices) && !choices.some((c) => same(c, value))) return false;
    if ("const" in schema && !same(schema["const"], value)) return false;
    if (typeof value === "string") {
      if (typeof schema["minLength"] === "number" && [...value].length < schema["minLength"]) return false;
      if (typeof schema["maxLength"] === "number" && [...value].length > schema["maxLength"]) return false;
      if (typeof schema["pattern"] === "string" && !new RegExp(schema["pattern"], "u").test(value)) {
        return false;
      }
    }
    if (typeof value === "number") {
      if (typeof schema["minimum"] === "number" && value < schema["minimum"]) return false;
      if (typeof schema["maximum"] === "number" && value > schema["maximum"]) return false;
    }
    if (Array.isArray(value)) {
      if (typeof schema["minItems"] === "number" && value.length < schema["minItems"]) return false;
      if (typeof schema["maxItems"] === "number" && value.length > schema["maxItems"]) return false;
      const items = schema["items"] as Schema | undefined;
      if (items !== undefined && !value.every((item) => this.check(items, item))) return false;
    }
    if (kind === "object") {
      const object = value as Record<string, unknown>;
      const properties = (schema["properties"] ?? {}) as Record<string, Schema>;
      const required = (schema["required"] ?? []) as string[];
      if (!required.every((name) => name in object)) return false;
      for (const [name, item] of Object.entries(object)) {
        const property = properties[name];
        if (property !== undefined && !this.check(property, item)) return false;
        if (property === undefined && schema["additionalProperties"] === false) return false;
      }
    }
    const all = (schema["allOf"] ?? []) as Schema[];
    if (!all.every((part) => this.check(part, value))) return false;
    const any = schema["anyOf"] as Schema[] | undefined;
    if (any !== undefined && !any.some((part) => this.check(part, value))) return false;
    const one = schema["oneOf"] as Schema[] | undefined;
    if (one !== undefined && one.filter((part) => this.check(part, value)).length !== 1) return false;
    const not = schema["not"] as Schema | undefined;
    if (not !== undefined && this.check(not, value)) return false;
    const condition = schema["if"] as Schema | undefined;
    const then = schema["then"] as Schema | undefined;
    if (condition !== undefined && then !== undefined && this.check(condition, value)) {
      return this.check(then, value);
    }
    return true;
  }
}
