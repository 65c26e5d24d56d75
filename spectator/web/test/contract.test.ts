// The page against the wire contract that messages/ publishes (messages/wire-schema.json,
// generated from the Python tables that validate): the page's names and enums are the
// contract's, its decoders accept exactly the frames the contract accepts, and the subscribe
// request it sends is one the contract allows. A field renamed in Python fails here.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { EVENT_TYPES, NEUTRAL_BUTTONS, WIRE, parseFrame, parseFrames, subscribeRequest } from "../src/frames.ts";
import { BUTTONS, COLORS } from "../src/game.ts";
import { Race } from "../src/race.ts";
import { SchemaChecker } from "./json-schema.ts";

// npm runs the tests from spectator/web.
const schema = JSON.parse(
  readFileSync(join(process.cwd(), "..", "..", "messages", "wire-schema.json"), "utf8"),
) as Record<string, unknown>;
const contract = new SchemaChecker(schema);

type Json = Record<string, unknown>;
const props = (name: string): Record<string, Json> => contract.def(name)["properties"] as Record<string, Json>;
const examples = (name: string): Json[] => contract.def(name)["examples"] as Json[];

test("the page's event types, colours and buttons are the contract's", () => {
  assert.deepEqual([...EVENT_TYPES], props("SpectatorFrame")["message_type"]!["enum"]);
  const nes = props("NESClick.Message");
  assert.deepEqual([...COLORS], nes["color"]!["enum"]);
  assert.deepEqual(new Set([...BUTTONS, ...NEUTRAL_BUTTONS]), new Set(nes["button"]!["enum"] as string[]));
  assert.deepEqual(props("SpectatorFrame")["source"]!["enum"], ["kinesis", "websocket"]);
});

test("every key and status the page reads is named by the contract", () => {
  const frame = props("SpectatorFrame");
  for (const key of [WIRE.messageType, WIRE.payload, WIRE.eventId, WIRE.sentAt, WIRE.source]) {
    assert.ok(key in frame, `${key} is not a spectator frame key`);
  }
  assert.equal(props("SubscribedFrame")[WIRE.status]!["const"], WIRE.subscribed);
  assert.ok(WIRE.subscriptions in props("SubscribedFrame"));
  assert.ok(WIRE.batched in props("SubscribedFrame") && WIRE.batched in props("SubscribeEnvelope"));
  assert.ok(WIRE.frames in props("BatchedFrame"));
  const error = props("ErrorFrame");
  assert.equal(error[WIRE.status]!["const"], WIRE.error);
  assert.ok(WIRE.errorCode in error && WIRE.errorMessage in error);
});

test("the contract's own example frames parse as what they are", () => {
  for (const example of examples("SpectatorFrame")) {
    assert.ok(contract.valid("ServerFrame", example));
    const parsed = parseFrame(JSON.stringify(example));
    assert.equal(parsed.kind, "event", JSON.stringify(parsed));
  }
  for (const example of examples("SubscribedFrame")) {
    assert.deepEqual(parseFrame(JSON.stringify(example)), {
      kind: "subscribed",
      count: (example[WIRE.subscriptions] as unknown[]).length,
      batched: example[WIRE.batched],
    });
  }
  for (const example of examples("BatchedFrame")) {
    assert.ok(contract.valid("ServerFrame", example));
    const parsed = parseFrames(JSON.stringify(example));
    assert.equal(parsed.length, (example[WIRE.frames] as unknown[]).length);
    for (const frame of parsed) assert.equal(frame.kind, "event", JSON.stringify(frame));
  }
  for (const example of examples("ErrorFrame")) {
    const parsed = parseFrame(JSON.stringify(example));
    assert.equal(parsed.kind, "error");
    assert.equal(parsed.kind === "error" && parsed.error, example[WIRE.errorCode]);
  }
});

test("a spectator frame missing any required key is refused by both", () => {
  const [example] = examples("SpectatorFrame");
  for (const key of contract.def("SpectatorFrame")["required"] as string[]) {
    const broken: Json = { ...example };
    delete broken[key];
    assert.equal(contract.valid("SpectatorFrame", broken), false, key);
    assert.equal(parseFrame(JSON.stringify(broken)).kind, "invalid", key);
  }
});

/** Every value each field of each type allows (enums), or a sample of its type. */
function samples(type: string): Json[] {
  const fields = props(`${type}.Message`);
  const base: Json = {};
  const variants: Json[] = [];
  for (const [name, spec] of Object.entries(fields)) {
    const choices = spec["enum"] as unknown[] | undefined;
    const types = ([] as unknown[]).concat(spec["type"] ?? []);
    base[name] = choices?.[0] ?? (types.includes("string") ? "text" : types.includes("null") ? null : 1);
    for (const choice of choices ?? []) variants.push({ [name]: choice });
  }
  return [base, ...variants.map((v) => ({ ...base, ...v }))];
}

function frameOf(type: string, message: unknown): string {
  return JSON.stringify({
    [WIRE.messageType]: type,
    [WIRE.payload]: JSON.stringify(message),
    [WIRE.eventId]: "e1",
    [WIRE.sentAt]: 1,
    [WIRE.source]: "kinesis",
  });
}

test("the page accepts every Message the contract accepts, and refuses what it refuses", () => {
  for (const type of EVENT_TYPES) {
    for (const message of samples(type)) {
      assert.ok(contract.valid(`${type}.Message`, message), JSON.stringify(message));
      assert.equal(parseFrame(frameOf(type, message)).kind, "event", `${type} ${JSON.stringify(message)}`);
    }
    const fields = props(`${type}.Message`);
    for (const [name, spec] of Object.entries(fields)) {
      if (!spec["enum"] && !(contract.def(`${type}.Message`)["required"] as string[]).includes(name)) continue;
      const [base] = samples(type);
      const wrong = { ...base, [name]: spec["enum"] ? "not-a-choice" : undefined };
      assert.equal(contract.valid(`${type}.Message`, wrong), false, `${type}.${name}`);
      assert.equal(parseFrame(frameOf(type, wrong)).kind, "invalid", `${type}.${name}`);
    }
  }
});

test("the talk's neutral D-pad presses are events that score nothing", () => {
  for (const button of NEUTRAL_BUTTONS) {
    const message = { color: "red", button, axis: 1, value: 0, source: "kinesis" };
    assert.ok(contract.valid("NESClick.Message", message));
    const parsed = parseFrame(frameOf("NESClick", message));
    assert.equal(parsed.kind === "event" && parsed.message.type === "NESClick" && parsed.message.button, null);
    const race = new Race(() => 0.5);
    const before = JSON.stringify(race.game);
    assert.equal(race.receive(parsed, 2), "applied");
    assert.equal(JSON.stringify(race.game), before);
    assert.equal(race.invalid, 0);
  }
});

test("the page's subscribe request is one the contract allows", () => {
  assert.ok(contract.valid("SubscribeEnvelope", JSON.parse(subscribeRequest())));
  assert.ok(contract.valid("SubscribeEnvelope", JSON.parse(subscribeRequest(false))));
  assert.equal(contract.valid("SubscribeEnvelope", { ...JSON.parse(subscribeRequest()), batched: "yes" }), false);
  assert.equal(contract.valid("SubscribeEnvelope", { action: "subscribe", subscriptions: [{ event_type: "NESEClick" }] }), false);
});
