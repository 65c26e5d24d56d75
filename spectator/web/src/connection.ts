// The socket to the gateway: a fresh viewer token from the page server on every (re)connect,
// a subscription sent on open, and reconnection with capped exponential backoff.

import { subscribeRequest } from "./frames.ts";

export type ConnectionState = "connecting" | "subscribing" | "live" | "reconnecting" | "refused";

export interface PageConfig {
  readonly wsUrl: string;
  readonly token: string;
  /** Where uploaded pictures are relayed ("/uploads/" locally); null: public S3 URLs. */
  readonly imageBase: string | null;
}

export interface ConnectionEvents {
  state(state: ConnectionState, detail: string): void;
  frame(data: string): void;
  /** Each config.json read, before the socket opens (so before any frame). */
  config?(config: PageConfig): void;
}

const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 10_000;

export function retryDelay(attempt: number): number {
  return Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, attempt));
}

export function socketUrl(config: Pick<PageConfig, "wsUrl" | "token">): string {
  const url = new URL(config.wsUrl);
  url.searchParams.set("token", config.token);
  return url.toString();
}

export function parseConfig(raw: unknown): PageConfig {
  if (typeof raw !== "object" || raw === null) throw new Error("config.json: not an object");
  const { wsUrl, token, imageBase } = raw as Record<string, unknown>;
  if (typeof wsUrl !== "string" || typeof token !== "string") {
    throw new Error("config.json: wsUrl and token must be strings");
  }
  if (imageBase !== undefined && imageBase !== null && typeof imageBase !== "string") {
    throw new Error("config.json: imageBase must be a string or null");
  }
  return { wsUrl, token, imageBase: imageBase ?? null };
}

async function loadConfig(): Promise<PageConfig> {
  const response = await fetch("config.json", { cache: "no-store" });
  if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
  return parseConfig(await response.json());
}

export class GatewayConnection {
  private attempt = 0;
  private socket: WebSocket | null = null;

  constructor(private readonly on: ConnectionEvents) {}

  start(): void {
    void this.connect();
  }

  /** Confirmed by the gateway: the next drop starts again from the shortest delay. */
  subscribed(batched: boolean): void {
    this.attempt = 0;
    const frames = batched ? ", Kinesis batched" : "";
    this.on.state("live", `subscribed to all five event types${frames}`);
  }

  private async connect(): Promise<void> {
    this.on.state(this.attempt === 0 ? "connecting" : "reconnecting", "asking for a token");
    let config: PageConfig;
    try {
      config = await loadConfig();
    } catch (error) {
      this.retry(String(error));
      return;
    }
    this.on.config?.(config);
    const socket = new WebSocket(socketUrl(config));
    this.socket = socket;
    let opened = false;
    socket.addEventListener("open", () => {
      opened = true;
      this.on.state("subscribing", config.wsUrl);
      socket.send(subscribeRequest());
    });
    socket.addEventListener("message", (event: MessageEvent) => {
      if (typeof event.data === "string") this.on.frame(event.data);
    });
    socket.addEventListener("close", (event: CloseEvent) => {
      if (this.socket !== socket) return;
      this.socket = null;
      const why = opened ? `connection lost (code ${event.code})` : "connection refused";
      this.retry(why);
    });
  }

  private retry(reason: string): void {
    const delay = retryDelay(this.attempt++);
    this.on.state("reconnecting", `${reason}; retrying in ${(delay / 1000).toFixed(1)} s`);
    setTimeout(() => void this.connect(), delay);
  }
}
