import { test } from "node:test";
import assert from "node:assert/strict";

import { parseFrame, parseFrames, subscribeRequest, EVENT_TYPES } from "../src/frames.ts";
import { Race } from "../src/race.ts";
import { LatencyWindow, SeenIds, median, percentile } from "../src/stats.ts";
import { retryDelay, socketUrl } from "../src/connection.ts";

let counter = 0;
function frame(type: string, message: object, source = "websocket", id?: string, sentAt = 1000): string {
  return JSON.stringify({
    message_type: type,
    payload: JSON.stringify(message),
    event_id: id ?? `e${++counter}`,
    sent_at: sentAt,
    source,
  });
}

test("the subscribe request asks for all five types, unfiltered", () => {
  const request = JSON.parse(subscribeRequest());
  assert.equal(request.action, "subscribe");
  assert.deepEqual(
    request.subscriptions.map((s: { event_type: string }) => s.event_type),
    [...EVENT_TYPES],
  );
  for (const s of request.subscriptions) assert.equal(s.filter_expr, "*");
  assert.equal(request.batched, true);
  assert.equal(JSON.parse(subscribeRequest(false)).batched, false);
});

test("a batched frame is each of its events, in order, applied as if sent one by one", () => {
  const presses = ["UP", "DOWN", "A", "B"].map((button, n) =>
    frame("NESClick", { color: "green", button }, "kinesis", `k${n}`, 1000 + n),
  );
  const batched = `{"frames":[${presses.join(",")}]}`;
  const frames = parseFrames(batched);
  assert.deepEqual(
    frames.map((f) => (f.kind === "event" ? f.eventId : f.kind)),
    ["k0", "k1", "k2", "k3"],
  );
  const one = new Race(() => 0.5);
  for (const f of frames) one.receive(f, 2000);
  const other = new Race(() => 0.5);
  for (const p of presses) other.receive(parseFrame(p), 2000);
  assert.deepEqual(one.game, other.game);
  assert.equal(one.paths.kinesis.events, 4);
  // A plain frame is itself; malformed batches are invalid, never a throw.
  assert.equal(parseFrames(presses[0]!).length, 1);
  for (const bad of ['{"frames":3}', '{"frames":[]}', '{"frames":[{"status":"subscribed"}]}', '{"frames":[1]}']) {
    assert.deepEqual(parseFrames(bad).map((f) => f.kind), ["invalid"], bad);
  }
});

test("frames parse into events, control frames and invalid ones", () => {
  const event = parseFrame(frame("NESClick", { color: "red", button: "A", axis: null, value: null, source: "websocket" }));
  assert.equal(event.kind, "event");
  assert.deepEqual(parseFrame('{"status":"subscribed","subscriptions":[{},{}]}'), {
    kind: "subscribed",
    count: 2,
    batched: false,
  });
  assert.deepEqual(parseFrame('{"status":"subscribed","subscriptions":[],"batched":true}'), {
    kind: "subscribed",
    count: 0,
    batched: true,
  });
  const error = parseFrame('{"status":"error","error":"invalid","message":"bad","field":"x"}');
  assert.deepEqual(error, { kind: "error", error: "invalid", text: "bad" });
  for (const bad of [
    "not json",
    "[]",
    frame("NESEClick", { color: "red", button: "A" }),
    frame("NESClick", { color: "purple", button: "A" }),
    frame("NESClick", { color: "red", button: "A" }, "carrier-pigeon"),
    JSON.stringify({ message_type: "NESClick", payload: "{", event_id: "x", sent_at: 1, source: "kinesis" }),
    JSON.stringify({ message_type: "DashClick", payload: "{}", event_id: "x", sent_at: 1, source: "kinesis" }),
    JSON.stringify({ message_type: "TranscribeEvent", payload: '{"transcribed_text":"x"}', source: "kinesis" }),
  ]) {
    assert.equal(parseFrame(bad).kind, "invalid", bad);
  }
});

test("a press drives the score on the WebSocket path and the power-up on Kinesis", () => {
  const race = new Race(() => 0);
  for (const button of ["UP", "DOWN", "A", "B"]) {
    const id = `p-${button}`;
    race.receive(parseFrame(frame("NESClick", { color: "blue", button }, "websocket", id)), 1010);
    race.receive(parseFrame(frame("NESClick", { color: "blue", button }, "kinesis", id)), 1200);
  }
  assert.equal(race.game.players.blue.score, 1);
  assert.equal(race.game.players.blue.powerUp, 1);
  assert.equal(race.paths.websocket.events, 4);
  assert.deepEqual(race.paths.websocket.latency.summary(), { median: 10, p99: 10 });
  assert.deepEqual(race.paths.kinesis.latency.summary(), { median: 200, p99: 200 });
});

test("a duplicate event id is ignored per path", () => {
  const race = new Race();
  const raw = frame("NESClick", { color: "red", button: "UP" }, "websocket", "same");
  assert.equal(race.receive(parseFrame(raw), 2000), "applied");
  assert.equal(race.receive(parseFrame(raw), 2000), "duplicate");
  assert.equal(race.paths.websocket.events, 1);
  assert.equal(race.paths.websocket.duplicates, 1);
  assert.deepEqual(race.game.players.red.history, ["UP"]);
});

test("a DashClick arriving on both paths toggles once", () => {
  const race = new Race();
  const message = { event: "toggle-game", click_type: "SINGLE" };
  race.receive(parseFrame(frame("DashClick", message, "websocket", "d1")), 1001);
  race.receive(parseFrame(frame("DashClick", message, "kinesis", "d1")), 1500);
  assert.equal(race.game.paused, true);
  assert.equal(race.paths.kinesis.events, 1, "still counted for the Kinesis latency");
});

test("photo, avatar and name events reach the selected player", () => {
  const race = new Race();
  race.receive(parseFrame(frame("PhotoUpload", { bucket: "b", key: "k", emotion: "CALM", confidence: 90 })), 1);
  race.receive(parseFrame(frame("PhotoCropped", { bucket: "b", key: "c" })), 1);
  race.receive(parseFrame(frame("TranscribeEvent", { transcribed_text: "Ada" })), 1);
  const red = race.game.players.red;
  assert.equal(red.photo?.emotion, "CALM");
  assert.equal(red.avatar?.key, "c");
  assert.equal(red.name, "Ada");
  assert.equal(race.receive(parseFrame("nope"), 1), "invalid");
  assert.equal(race.invalid, 1);
});

test("median and p99 by nearest rank over the last 100 samples", () => {
  assert.equal(median([]), null);
  assert.equal(percentile([], 99), null);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  const window = new LatencyWindow();
  for (let i = 1; i <= 150; i++) window.add(i);
  assert.equal(window.count, 100);
  assert.deepEqual(window.summary(), { median: 100.5, p99: 149 });
  const skewed = new LatencyWindow();
  skewed.add(-5);
  assert.deepEqual(skewed.summary(), { median: 0, p99: 0 }, "clock skew counts as 0 ms");
});

test("seen ids are bounded", () => {
  const seen = new SeenIds(2);
  assert.equal(seen.firstTime("a"), true);
  assert.equal(seen.firstTime("a"), false);
  seen.firstTime("b");
  seen.firstTime("c");
  assert.equal(seen.firstTime("a"), true, "the oldest was forgotten");
});

test("reconnect delays grow and are capped; the token goes in the query string", () => {
  assert.equal(retryDelay(0), 500);
  assert.equal(retryDelay(1), 1000);
  assert.equal(retryDelay(20), 10_000);
  assert.equal(
    socketUrl({ wsUrl: "ws://127.0.0.1:3001/local", token: "a b+c" }),
    "ws://127.0.0.1:3001/local?token=a+b%2Bc",
  );
});
