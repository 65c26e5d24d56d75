// Draws the race into the page. The DOM is built once; render() only changes text, widths and
// data attributes. Tests rely on the data-testid names here, so treat them as an interface:
// connection-state, lane-<color>, name-<color>, score-<color>, powerup-<color>, winner-banner,
// latency-<path>-median, latency-<path>-p99, events-<path>, duplicates-<path>, target,
// game-state, kinesis-state.

import { COLORS, WINNING_SCORE, POWER_UP_LIMIT, winnerBanner, type Color } from "./game.ts";
import type { ConnectionState } from "./connection.ts";
import { PATHS, type Race } from "./race.ts";
import { formatMs } from "./stats.ts";

const ARROWS: Record<string, string> = { UP: "▲", DOWN: "▼", LEFT: "◀", RIGHT: "▶" };

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  children: (Node | string)[] = [],
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function byTestId(root: ParentNode, id: string): HTMLElement {
  const node = root.querySelector<HTMLElement>(`[data-testid="${id}"]`);
  if (node === null) throw new Error(`missing element ${id}`);
  return node;
}

function lane(color: Color): HTMLElement {
  return el("div", { class: "lane", "data-testid": `lane-${color}`, "data-color": color }, [
    el("div", { class: "player" }, [
      el("div", { class: "avatar", "data-testid": `avatar-${color}` }),
      el("div", { class: "who" }, [
        el("div", { class: "name", "data-testid": `name-${color}` }),
        el("div", { class: "mood", "data-testid": `mood-${color}` }),
      ]),
      el("div", { class: "score", "data-testid": `score-${color}` }, ["0"]),
    ]),
    el("div", { class: "track", title: "score (WebSocket path)" }, [
      el("div", { class: "fill", "data-testid": `score-bar-${color}` }),
      el("div", { class: "finish" }),
    ]),
    el("div", { class: "power", title: "power-up (Kinesis path)" }, [
      el("div", { class: "fill", "data-testid": `powerup-${color}` }),
    ]),
    el("div", { class: "presses", "data-testid": `presses-${color}` }),
  ]);
}

function pathPanel(path: string, label: string): HTMLElement {
  return el("div", { class: "path", "data-path": path }, [
    el("h3", {}, [label]),
    el("dl", {}, [
      el("dt", {}, ["median"]),
      el("dd", { "data-testid": `latency-${path}-median` }, ["–"]),
      el("dt", {}, ["p99"]),
      el("dd", { "data-testid": `latency-${path}-p99` }, ["–"]),
      el("dt", {}, ["events"]),
      el("dd", { "data-testid": `events-${path}` }, ["0"]),
      el("dt", {}, ["duplicates"]),
      el("dd", { "data-testid": `duplicates-${path}` }, ["0"]),
    ]),
  ]);
}

export class RaceView {
  constructor(private readonly root: HTMLElement) {
    const lanes = el("section", { class: "lanes" }, COLORS.map(lane));
    const stats = el("aside", { class: "stats" }, [
      el("h2", {}, ["Latency, last 100 events"]),
      pathPanel("websocket", "WebSocket path"),
      pathPanel("kinesis", "Kinesis path"),
      el("p", { class: "invalid" }, ["invalid frames: ", el("span", { "data-testid": "invalid" }, ["0"])]),
    ]);
    root.append(
      el("header", {}, [
        el("h1", {}, ["Tumble", el("span", {}, ["race"])]),
        el("div", { class: "target" }, ["target ", el("span", { "data-testid": "target" })]),
        el("div", { class: "badge", "data-testid": "game-state" }),
        el("div", { class: "badge", "data-testid": "kinesis-state" }),
        el("div", { class: "connection", "data-testid": "connection-state", "data-state": "connecting" }, [
          "connecting",
        ]),
      ]),
      el("div", { class: "banner", "data-testid": "winner-banner", hidden: "" }),
      el("main", {}, [lanes, stats]),
      el("footer", { "data-testid": "connection-detail" }),
    );
  }

  showConnection(state: ConnectionState, detail: string): void {
    const node = byTestId(this.root, "connection-state");
    node.dataset["state"] = state;
    node.textContent = state;
    byTestId(this.root, "connection-detail").textContent = detail;
  }

  render(race: Race): void {
    const game = race.game;
    byTestId(this.root, "target").textContent = game.target.map((b) => ARROWS[b] ?? b).join(" ");
    const gameState = byTestId(this.root, "game-state");
    gameState.textContent = game.paused ? "paused" : "running";
    gameState.dataset["on"] = String(!game.paused);
    const kinesis = byTestId(this.root, "kinesis-state");
    kinesis.textContent = game.kinesisEnabled ? "power-ups on" : "power-ups off";
    kinesis.dataset["on"] = String(game.kinesisEnabled);
    for (const color of COLORS) {
      const player = game.players[color];
      const laneNode = byTestId(this.root, `lane-${color}`);
      laneNode.dataset["selected"] = String(game.selected === color);
      laneNode.dataset["winner"] = String(game.winner === color);
      byTestId(this.root, `name-${color}`).textContent = player.name;
      const mood = player.photo ? `${player.photo.emotion} ${Math.round(player.photo.confidence)}%` : "";
      byTestId(this.root, `mood-${color}`).textContent = mood;
      const avatar = byTestId(this.root, `avatar-${color}`);
      avatar.textContent = player.name.charAt(0).toUpperCase();
      avatar.title = player.avatar ? `s3://${player.avatar.bucket}/${player.avatar.key}` : "";
      avatar.dataset["cropped"] = String(player.avatar !== null);
      byTestId(this.root, `score-${color}`).textContent = String(player.score);
      const progress = Math.min(1, player.score / WINNING_SCORE);
      byTestId(this.root, `score-bar-${color}`).style.width = `${(progress * 100).toFixed(1)}%`;
      const power = Math.min(1, player.powerUp / (POWER_UP_LIMIT + 1));
      byTestId(this.root, `powerup-${color}`).style.width = `${(power * 100).toFixed(1)}%`;
      byTestId(this.root, `presses-${color}`).textContent = player.history
        .map((b) => ARROWS[b] ?? b)
        .join(" ");
    }
    const banner = byTestId(this.root, "winner-banner");
    const text = winnerBanner(game);
    banner.hidden = text === null;
    banner.textContent = text ?? "";
    if (game.winner !== null) banner.dataset["color"] = game.winner;
    for (const path of PATHS) {
      const stats = race.paths[path];
      const { median, p99 } = stats.latency.summary();
      byTestId(this.root, `latency-${path}-median`).textContent = formatMs(median);
      byTestId(this.root, `latency-${path}-p99`).textContent = formatMs(p99);
      byTestId(this.root, `events-${path}`).textContent = String(stats.events);
      byTestId(this.root, `duplicates-${path}`).textContent = String(stats.duplicates);
    }
    byTestId(this.root, "invalid").textContent = String(race.invalid);
  }
}
