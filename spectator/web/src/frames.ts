// The frames a spectator receives (messages/envelopes.py and messages/batches.py are the source
// of truth) and the one subscribe request the page sends. Anything malformed becomes an
// "invalid" frame, never a throw. The page asks for batched frames: on the Kinesis path one
// text frame holds every event of an ESM batch, `{"frames": [...]}`, taken apart by parseFrames.

import { BUTTONS, COLORS, type Button, type Color, type ClickType, type DashEvent, type Path } from "./game.ts";

export const EVENT_TYPES = [
  "NESClick",
  "DashClick",
  "PhotoUpload",
  "PhotoCropped",
  "TranscribeEvent",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** The D-pad's release as the talk's producer reports it; on the wire, ignored by the race. */
export const NEUTRAL_BUTTONS = ["VERT_NEUTRAL", "HORIZONTAL_NEUTRAL"] as const;

/** Every key and status of the frames, as messages/wire-schema.json names them. */
export const WIRE = {
  status: "status",
  subscribed: "subscribed",
  error: "error",
  errorCode: "error",
  errorMessage: "message",
  subscriptions: "subscriptions",
  messageType: "message_type",
  payload: "payload",
  eventId: "event_id",
  sentAt: "sent_at",
  source: "source",
  batched: "batched",
  frames: "frames",
} as const;

export type Message =
  // button null: a neutral D-pad position (NEUTRAL_BUTTONS), which scores nothing.
  | { type: "NESClick"; color: Color; button: Button | null }
  | { type: "DashClick"; event: DashEvent; clickType: ClickType }
  | { type: "PhotoUpload"; bucket: string; key: string; emotion: string; confidence: number }
  | { type: "PhotoCropped"; bucket: string; key: string }
  | { type: "TranscribeEvent"; text: string };

export type Frame =
  | { kind: "event"; message: Message; eventId: string; sentAt: number; source: Path }
  | { kind: "subscribed"; count: number; batched: boolean }
  | { kind: "error"; error: string; text: string }
  | { kind: "invalid"; reason: string };

/** Subscribe to every event type, unfiltered and unprojected, batched on the Kinesis path. */
export function subscribeRequest(batched = true): string {
  return JSON.stringify({
    action: "subscribe",
    subscriptions: EVENT_TYPES.map((event_type) => ({
      event_type,
      filter_field: null,
      filter_expr: "*",
      desired_fields: null,
    })),
    [WIRE.batched]: batched,
  });
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function oneOf<T extends string>(value: unknown, choices: readonly T[]): T | null {
  return typeof value === "string" && (choices as readonly string[]).includes(value)
    ? (value as T)
    : null;
}

function text(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

const PATHS: readonly Path[] = ["websocket", "kinesis"];
const DASH_EVENTS: readonly DashEvent[] = ["toggle-kinesis", "toggle-game", "toggle-selection"];
const CLICK_TYPES: readonly ClickType[] = ["SINGLE", "DOUBLE", "LONG"];

export function parseMessage(type: EventType, raw: Json): Message | null {
  switch (type) {
    case "NESClick": {
      const color = oneOf(raw["color"], COLORS);
      const button = oneOf(raw["button"], BUTTONS);
      // The frame says which path it took; a payload's own `source`, when there, must be one.
      if (!color || ("source" in raw && oneOf(raw["source"], PATHS) === null)) return null;
      if (oneOf(raw["button"], NEUTRAL_BUTTONS)) return { type, color, button: null };
      return button ? { type, color, button } : null;
    }
    case "DashClick": {
      const event = oneOf(raw["event"], DASH_EVENTS);
      const clickType = oneOf(raw["click_type"], CLICK_TYPES);
      return event && clickType ? { type, event, clickType } : null;
    }
    case "PhotoUpload": {
      const bucket = text(raw["bucket"]);
      const key = text(raw["key"]);
      const emotion = text(raw["emotion"]);
      const confidence = raw["confidence"];
      return bucket !== null && key !== null && emotion !== null && typeof confidence === "number"
        ? { type, bucket, key, emotion, confidence }
        : null;
    }
    case "PhotoCropped": {
      const bucket = text(raw["bucket"]);
      const key = text(raw["key"]);
      return bucket !== null && key !== null ? { type, bucket, key } : null;
    }
    case "TranscribeEvent": {
      const transcribed = text(raw["transcribed_text"]);
      return transcribed !== null ? { type, text: transcribed } : null;
    }
  }
}

/** Every frame one text frame holds, in order: the events of a batched frame, or itself. */
export function parseFrames(data: string): Frame[] {
  let raw: unknown;
  try {
    raw = JSON.parse(data);
  } catch {
    return [{ kind: "invalid", reason: "not JSON" }];
  }
  if (!isObject(raw) || !(WIRE.frames in raw)) return [parseObject(raw)];
  const inner = raw[WIRE.frames];
  if (!Array.isArray(inner) || inner.length === 0) {
    return [{ kind: "invalid", reason: "frames is not a non-empty list" }];
  }
  // Inside a batch only events: a control frame there is as wrong as a missing field.
  return inner.map((item) => {
    const frame = parseObject(item);
    return frame.kind === "event" ? frame : { kind: "invalid", reason: "not an event in frames" };
  });
}

/** One frame that is not batched (an event, a control frame). */
export function parseFrame(data: string): Frame {
  let raw: unknown;
  try {
    raw = JSON.parse(data);
  } catch {
    return { kind: "invalid", reason: "not JSON" };
  }
  return parseObject(raw);
}

function parseObject(raw: unknown): Frame {
  if (!isObject(raw)) return { kind: "invalid", reason: "not an object" };
  if (raw[WIRE.status] === WIRE.subscribed) {
    const subs = raw[WIRE.subscriptions];
    return {
      kind: "subscribed",
      count: Array.isArray(subs) ? subs.length : 0,
      batched: raw[WIRE.batched] === true,
    };
  }
  if (raw[WIRE.status] === WIRE.error) {
    return {
      kind: "error",
      error: text(raw[WIRE.errorCode]) ?? "error",
      text: text(raw[WIRE.errorMessage]) ?? "the gateway refused the request",
    };
  }
  const type = oneOf(raw[WIRE.messageType], EVENT_TYPES);
  if (type === null) return { kind: "invalid", reason: "unknown message_type" };
  const source = oneOf(raw[WIRE.source], PATHS);
  const eventId = text(raw[WIRE.eventId]);
  const sentAt = raw[WIRE.sentAt];
  if (source === null || eventId === null || typeof sentAt !== "number") {
    return { kind: "invalid", reason: "missing source, event_id or sent_at" };
  }
  let payload: unknown;
  try {
    payload = JSON.parse(text(raw[WIRE.payload]) ?? "");
  } catch {
    return { kind: "invalid", reason: "payload is not a JSON string" };
  }
  const message = isObject(payload) ? parseMessage(type, payload) : null;
  if (message === null) return { kind: "invalid", reason: `bad ${type} payload` };
  return { kind: "event", message, eventId, sentAt, source };
}
