// The frames a spectator receives (messages/envelopes.py is the source of truth) and the one
// subscribe request the page sends. Anything malformed becomes an "invalid" frame, never a throw.

import { BUTTONS, COLORS, type Button, type Color, type ClickType, type DashEvent, type Path } from "./game.ts";

export const EVENT_TYPES = [
  "NESClick",
  "DashClick",
  "PhotoUpload",
  "PhotoCropped",
  "TranscribeEvent",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export type Message =
  | { type: "NESClick"; color: Color; button: Button }
  | { type: "DashClick"; event: DashEvent; clickType: ClickType }
  | { type: "PhotoUpload"; bucket: string; key: string; emotion: string; confidence: number }
  | { type: "PhotoCropped"; bucket: string; key: string }
  | { type: "TranscribeEvent"; text: string };

export type Frame =
  | { kind: "event"; message: Message; eventId: string; sentAt: number; source: Path }
  | { kind: "subscribed"; count: number }
  | { kind: "error"; error: string; text: string }
  | { kind: "invalid"; reason: string };

/** Subscribe to every event type, unfiltered and unprojected. */
export function subscribeRequest(): string {
  return JSON.stringify({
    action: "subscribe",
    subscriptions: EVENT_TYPES.map((event_type) => ({
      event_type,
      filter_field: null,
      filter_expr: "*",
      desired_fields: null,
    })),
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

const DASH_EVENTS: readonly DashEvent[] = ["toggle-kinesis", "toggle-game", "toggle-selection"];
const CLICK_TYPES: readonly ClickType[] = ["SINGLE", "DOUBLE", "LONG"];

export function parseMessage(type: EventType, raw: Json): Message | null {
  switch (type) {
    case "NESClick": {
      const color = oneOf(raw["color"], COLORS);
      const button = oneOf(raw["button"], BUTTONS);
      return color && button ? { type, color, button } : null;
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

export function parseFrame(data: string): Frame {
  let raw: unknown;
  try {
    raw = JSON.parse(data);
  } catch {
    return { kind: "invalid", reason: "not JSON" };
  }
  if (!isObject(raw)) return { kind: "invalid", reason: "not an object" };
  if (raw["status"] === "subscribed") {
    const subs = raw["subscriptions"];
    return { kind: "subscribed", count: Array.isArray(subs) ? subs.length : 0 };
  }
  if (raw["status"] === "error") {
    return {
      kind: "error",
      error: text(raw["error"]) ?? "error",
      text: text(raw["message"]) ?? "the gateway refused the request",
    };
  }
  const type = oneOf(raw["message_type"], EVENT_TYPES);
  if (type === null) return { kind: "invalid", reason: "unknown message_type" };
  const source = oneOf<Path>(raw["source"], ["websocket", "kinesis"]);
  const eventId = text(raw["event_id"]);
  const sentAt = raw["sent_at"];
  if (source === null || eventId === null || typeof sentAt !== "number") {
    return { kind: "invalid", reason: "missing source, event_id or sent_at" };
  }
  let payload: unknown;
  try {
    payload = JSON.parse(text(raw["payload"]) ?? "");
  } catch {
    return { kind: "invalid", reason: "payload is not a JSON string" };
  }
  const message = isObject(payload) ? parseMessage(type, payload) : null;
  if (message === null) return { kind: "invalid", reason: `bad ${type} payload` };
  return { kind: "event", message, eventId, sentAt, source };
}
