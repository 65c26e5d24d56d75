// The race rules of shared/GAME.md as pure functions: every change returns a new state, and
// randomness is passed in, so the rules are tested without a browser or a socket.

export const COLORS = ["red", "blue", "green", "yellow"] as const;
export type Color = (typeof COLORS)[number];

export const BUTTONS = ["A", "B", "SELECT", "START", "UP", "DOWN", "LEFT", "RIGHT"] as const;
export type Button = (typeof BUTTONS)[number];

export type Path = "websocket" | "kinesis";

export const WINNING_SCORE = 40;
export const HISTORY_LENGTH = 4;
export const DEFAULT_TARGET: readonly Button[] = ["UP", "DOWN", "A", "B"];
/** SELECT START B A: once per colour, a new shared target and 4 points. */
export const SHORTCUT: readonly Button[] = ["SELECT", "START", "B", "A"];
export const SHORTCUT_POINTS = 4;
/** SELECT START SELECT START while paused: this colour gets the next photo and name. */
export const CLAIM_SELECTION: readonly Button[] = ["SELECT", "START", "SELECT", "START"];
/** The power-up bar pays out once it goes past this many completed sequences. */
export const POWER_UP_LIMIT = 10;
export const POWER_UP_BOOST = 5;
/** Buttons a replacement target is drawn from: never SELECT or START, so a target can't
 * collide with the shortcut or the selection claim. */
export const TARGET_BUTTONS: readonly Button[] = ["A", "B", "UP", "DOWN", "LEFT", "RIGHT"];
export const MAX_NAME_LENGTH = 24;
/** Shown before a winner's name until a photo tells the real emotion. */
export const DEFAULT_EMOTION = "HAPPY";

export interface Photo {
  readonly bucket: string;
  readonly key: string;
  readonly emotion: string;
  readonly confidence: number;
}

export interface Avatar {
  readonly bucket: string;
  readonly key: string;
}

export interface Player {
  readonly color: Color;
  readonly name: string;
  readonly score: number;
  readonly powerUp: number;
  /** The last presses over the WebSocket (at most HISTORY_LENGTH). */
  readonly history: readonly Button[];
  /** The last presses through Kinesis, which only feed the power-up bar. */
  readonly kinesisHistory: readonly Button[];
  readonly shortcutUsed: boolean;
  readonly photo: Photo | null;
  readonly avatar: Avatar | null;
}

export interface GameState {
  readonly players: Readonly<Record<Color, Player>>;
  readonly target: readonly Button[];
  readonly paused: boolean;
  readonly kinesisEnabled: boolean;
  readonly selected: Color;
  readonly winner: Color | null;
}

export type Random = () => number;

export function displayName(color: Color): string {
  return color.charAt(0).toUpperCase() + color.slice(1);
}

function newPlayer(color: Color): Player {
  return {
    color,
    name: displayName(color),
    score: 0,
    powerUp: 0,
    history: [],
    kinesisHistory: [],
    shortcutUsed: false,
    photo: null,
    avatar: null,
  };
}

export function newGame(): GameState {
  const players = {} as Record<Color, Player>;
  for (const color of COLORS) players[color] = newPlayer(color);
  return {
    players,
    target: DEFAULT_TARGET,
    paused: false,
    kinesisEnabled: true,
    selected: "red",
    winner: null,
  };
}

/** A new race with the same people: names, photos, avatars and settings stay. */
export function resetGame(state: GameState): GameState {
  const fresh = newGame();
  const players = {} as Record<Color, Player>;
  for (const color of COLORS) {
    const old = state.players[color];
    players[color] = { ...fresh.players[color], name: old.name, photo: old.photo, avatar: old.avatar };
  }
  return { ...fresh, players, kinesisEnabled: state.kinesisEnabled, selected: state.selected };
}

function endsWith(history: readonly Button[], sequence: readonly Button[]): boolean {
  if (history.length < sequence.length) return false;
  const tail = history.slice(history.length - sequence.length);
  return tail.every((button, i) => button === sequence[i]);
}

function remember(history: readonly Button[], button: Button): Button[] {
  return [...history, button].slice(-HISTORY_LENGTH);
}

function withPlayer(state: GameState, player: Player): GameState {
  const players = { ...state.players, [player.color]: player };
  const winner = state.winner ?? (player.score >= WINNING_SCORE ? player.color : null);
  return { ...state, players, winner };
}

/** 2 to 4 buttons drawn from TARGET_BUTTONS. */
export function randomTarget(random: Random): Button[] {
  const pick = (n: number): number => Math.min(n - 1, Math.floor(random() * n));
  const length = 2 + pick(3);
  const target: Button[] = [];
  for (let i = 0; i < length; i++) target.push(TARGET_BUTTONS[pick(TARGET_BUTTONS.length)] ?? "A");
  return target;
}

/** A press that came over the WebSocket: it drives the race. */
export function pressWebSocket(
  state: GameState,
  color: Color,
  button: Button,
  random: Random = Math.random,
): GameState {
  if (state.winner !== null) return state;
  const player = state.players[color];
  const history = remember(player.history, button);
  if (state.paused) {
    if (endsWith(history, CLAIM_SELECTION)) {
      return withPlayer({ ...state, selected: color }, { ...player, history: [] });
    }
    return withPlayer(state, { ...player, history });
  }
  const held = player.history.length;
  if (endsWith(history, state.target)) {
    return withPlayer(state, { ...player, score: player.score + 1, history: [] });
  }
  if (!player.shortcutUsed && endsWith(history, SHORTCUT)) {
    const next = { ...state, target: randomTarget(random) };
    return withPlayer(next, {
      ...player,
      score: player.score + SHORTCUT_POINTS,
      history: [],
      shortcutUsed: true,
    });
  }
  const penalty = held >= HISTORY_LENGTH ? 1 : 0;
  return withPlayer(state, { ...player, history, score: Math.max(0, player.score - penalty) });
}

/** The same press arriving through Kinesis: it fills (or empties) the power-up bar. */
export function pressKinesis(state: GameState, color: Color, button: Button): GameState {
  if (state.winner !== null || state.paused || !state.kinesisEnabled) return state;
  const player = state.players[color];
  const kinesisHistory = remember(player.kinesisHistory, button);
  if (endsWith(kinesisHistory, state.target)) {
    const powerUp = player.powerUp + 1;
    if (powerUp > POWER_UP_LIMIT) {
      return withPlayer(state, {
        ...player,
        kinesisHistory: [],
        powerUp: 0,
        score: player.score + POWER_UP_BOOST,
      });
    }
    return withPlayer(state, { ...player, kinesisHistory: [], powerUp });
  }
  if (player.kinesisHistory.length >= HISTORY_LENGTH) {
    return withPlayer(state, { ...player, kinesisHistory, powerUp: 0 });
  }
  return withPlayer(state, { ...player, kinesisHistory });
}

export function press(
  state: GameState,
  path: Path,
  color: Color,
  button: Button,
  random: Random = Math.random,
): GameState {
  return path === "websocket"
    ? pressWebSocket(state, color, button, random)
    : pressKinesis(state, color, button);
}

export type DashEvent = "toggle-kinesis" | "toggle-game" | "toggle-selection";
export type ClickType = "SINGLE" | "DOUBLE" | "LONG";

export function dashClick(state: GameState, event: DashEvent, click: ClickType): GameState {
  switch (event) {
    case "toggle-game":
      if (click === "DOUBLE") return resetGame(state);
      if (click === "SINGLE") return { ...state, paused: !state.paused };
      return state;
    case "toggle-kinesis":
      return { ...state, kinesisEnabled: !state.kinesisEnabled };
    case "toggle-selection": {
      const step = click === "DOUBLE" ? COLORS.length - 1 : 1;
      const next = COLORS[(COLORS.indexOf(state.selected) + step) % COLORS.length] ?? "red";
      return { ...state, selected: next };
    }
  }
}

function updateSelected(state: GameState, change: Partial<Player>): GameState {
  const player = state.players[state.selected];
  return { ...state, players: { ...state.players, [player.color]: { ...player, ...change } } };
}

export function photoUploaded(state: GameState, photo: Photo): GameState {
  return updateSelected(state, { photo });
}

export function photoCropped(state: GameState, avatar: Avatar): GameState {
  return updateSelected(state, { avatar });
}

export function nameTranscribed(state: GameState, text: string): GameState {
  const name = text.trim().replace(/[.!?]+$/, "").slice(0, MAX_NAME_LENGTH).trim();
  return name ? updateSelected(state, { name }) : state;
}

/** "<emotion> <name> WINS!" once someone has won, else null. */
export function winnerBanner(state: GameState): string | null {
  if (state.winner === null) return null;
  const player = state.players[state.winner];
  const emotion = player.photo?.emotion || DEFAULT_EMOTION;
  return `${emotion} ${player.name} WINS!`;
}
