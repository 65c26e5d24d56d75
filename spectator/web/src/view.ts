// Draws the race into the page. The DOM is built once; render() only changes text, widths and
// data attributes. Tests rely on the data-testid names here, so treat them as an interface:
// connection-state, lane-<color>, name-<color>, score-<color>, powerup-<color>, winner-banner,
// latency-<path>-median, latency-<path>-p99, events-<path>, duplicates-<path>, target,
// game-state, kinesis-state, avatar-<color> (holding avatar-image-<color>), photo-<color>.
// An <img> shows only once loaded (data-state: none, loading, loaded, failed); until then, or
// if it fails, the lane keeps its text: the initial in the avatar, the mood beside the name.

import { COLORS, WINNING_SCORE, POWER_UP_LIMIT, winnerBanner, type Color } from "./game.ts";
import type { ConnectionState } from "./connection.ts";
import { avatarAlt, imageUrl, moodText, photoAlt, s3Uri } from "./images.ts";
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

/** An <img> that reports its state on itself and on `holder` (for CSS), hidden unless loaded. */
function picture(attrs: Record<string, string>, holder: HTMLElement): HTMLImageElement {
  const img = el("img", { ...attrs, hidden: "", "data-state": "none", decoding: "async" });
  const settle = (state: "loaded" | "failed") => {
    img.dataset["state"] = state;
    img.hidden = state !== "loaded";
    holder.dataset["image"] = state;
  };
  img.addEventListener("load", () => settle("loaded"));
  img.addEventListener("error", () => settle("failed"));
  return img;
}

/** Points `img` at `url` (null: nothing to show); a URL already set is left alone, so a render
 * per frame does not restart a load. */
function showPicture(img: HTMLImageElement, holder: HTMLElement, url: string | null, alt: string): void {
  img.alt = alt;
  if (url === null) {
    if (img.hasAttribute("src")) img.removeAttribute("src");
    img.hidden = true;
    img.dataset["state"] = "none";
    holder.dataset["image"] = "none";
    return;
  }
  if (img.getAttribute("src") === url) return;
  img.hidden = true;
  img.dataset["state"] = "loading";
  holder.dataset["image"] = "loading";
  img.src = url;
}

function lane(color: Color): HTMLElement {
  const avatar = el("div", { class: "avatar", "data-testid": `avatar-${color}`, "data-image": "none" }, [
    el("span", { class: "initial" }),
  ]);
  avatar.append(picture({ class: "avatar-image", "data-testid": `avatar-image-${color}` }, avatar));
  const who = el("div", { class: "who", "data-image": "none" }, [
    el("div", { class: "name", "data-testid": `name-${color}` }),
    el("div", { class: "mood", "data-testid": `mood-${color}` }),
  ]);
  return el("div", { class: "lane", "data-testid": `lane-${color}`, "data-color": color }, [
    el("div", { class: "player" }, [
      avatar,
      picture({ class: "photo", "data-testid": `photo-${color}` }, who),
      who,
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
  /** From config.json: undefined until it is read (no pictures yet), null for public S3. */
  private imageBase: string | null | undefined = undefined;

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

  setImageBase(imageBase: string | null): void {
    this.imageBase = imageBase;
  }

  private url(object: { bucket: string; key: string } | null): string | null {
    return object === null || this.imageBase === undefined ? null : imageUrl(this.imageBase, object);
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
      const moodNode = byTestId(this.root, `mood-${color}`);
      moodNode.textContent = moodText(player.photo);
      moodNode.title = player.photo ? s3Uri(player.photo) : "";
      const photo = byTestId(this.root, `photo-${color}`) as HTMLImageElement;
      const who = moodNode.parentElement as HTMLElement;
      const photoText = player.photo ? photoAlt(player.name, player.photo) : "";
      showPicture(photo, who, this.url(player.photo), photoText);
      photo.title = photoText;
      const avatar = byTestId(this.root, `avatar-${color}`);
      const initial = avatar.querySelector(".initial") as HTMLElement;
      initial.textContent = player.name.charAt(0).toUpperCase();
      avatar.title = player.avatar ? s3Uri(player.avatar) : "";
      avatar.dataset["cropped"] = String(player.avatar !== null);
      const avatarImage = byTestId(this.root, `avatar-image-${color}`) as HTMLImageElement;
      showPicture(avatarImage, avatar, this.url(player.avatar), avatarAlt(player.name));
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
