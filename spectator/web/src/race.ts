// Everything the page knows, with no DOM and no socket: frames in, game state and statistics
// out. Presses count once per path (each path drives its own bar); every other event changes
// the game once, whichever path brings it first.

import {
  dashClick,
  nameTranscribed,
  newGame,
  photoCropped,
  photoUploaded,
  press,
  type GameState,
  type Path,
  type Random,
} from "./game.ts";
import type { Frame, Message } from "./frames.ts";
import { LatencyWindow, SeenIds } from "./stats.ts";

export const PATHS: readonly Path[] = ["websocket", "kinesis"];

export interface PathStats {
  readonly latency: LatencyWindow;
  readonly seen: SeenIds;
  events: number;
  duplicates: number;
}

export type Outcome = "applied" | "duplicate" | "invalid" | "control";

export class Race {
  game: GameState = newGame();
  readonly paths: Record<Path, PathStats>;
  invalid = 0;
  private readonly applied = new SeenIds();

  constructor(private readonly random: Random = Math.random) {
    const stats = (): PathStats => ({
      latency: new LatencyWindow(),
      seen: new SeenIds(),
      events: 0,
      duplicates: 0,
    });
    this.paths = { websocket: stats(), kinesis: stats() };
  }

  receive(frame: Frame, nowMs: number): Outcome {
    if (frame.kind === "invalid") {
      this.invalid++;
      return "invalid";
    }
    if (frame.kind !== "event") return "control";
    const stats = this.paths[frame.source];
    if (!stats.seen.firstTime(frame.eventId)) {
      stats.duplicates++;
      return "duplicate";
    }
    stats.events++;
    stats.latency.add(nowMs - frame.sentAt);
    const message = frame.message;
    if (message.type === "NESClick") {
      if (message.button !== null) {
        this.game = press(this.game, frame.source, message.color, message.button, this.random);
      }
    } else if (this.applied.firstTime(frame.eventId)) {
      this.game = applyOnce(this.game, message);
    }
    return "applied";
  }
}

function applyOnce(game: GameState, message: Exclude<Message, { type: "NESClick" }>): GameState {
  switch (message.type) {
    case "DashClick":
      return dashClick(game, message.event, message.clickType);
    case "PhotoUpload":
      return photoUploaded(game, message);
    case "PhotoCropped":
      return photoCropped(game, message);
    case "TranscribeEvent":
      return nameTranscribed(game, message.text);
  }
}
