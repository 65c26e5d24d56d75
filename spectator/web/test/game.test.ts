import { test } from "node:test";
import assert from "node:assert/strict";

import {
  COLORS,
  DEFAULT_TARGET,
  WINNING_SCORE,
  dashClick,
  nameTranscribed,
  newGame,
  photoCropped,
  photoUploaded,
  pressKinesis,
  pressWebSocket,
  randomTarget,
  winnerBanner,
  type Button,
  type Color,
  type GameState,
} from "../src/game.ts";

const fixed = (value: number) => () => value;

function ws(state: GameState, color: Color, buttons: readonly Button[], random = fixed(0)): GameState {
  return buttons.reduce((s, b) => pressWebSocket(s, color, b, random), state);
}

function kin(state: GameState, color: Color, buttons: readonly Button[]): GameState {
  return buttons.reduce((s, b) => pressKinesis(s, color, b), state);
}

function withScore(state: GameState, color: Color, score: number): GameState {
  return { ...state, players: { ...state.players, [color]: { ...state.players[color], score } } };
}

test("a new game has four lanes at zero, red selected and the default target", () => {
  const game = newGame();
  assert.deepEqual(Object.keys(game.players), [...COLORS]);
  assert.deepEqual(game.target, ["UP", "DOWN", "A", "B"]);
  assert.equal(game.selected, "red");
  for (const color of COLORS) assert.equal(game.players[color].score, 0);
});

test("the target sequence scores one point and clears the history", () => {
  const game = ws(newGame(), "blue", DEFAULT_TARGET);
  assert.equal(game.players.blue.score, 1);
  assert.deepEqual(game.players.blue.history, []);
  assert.equal(game.players.red.score, 0);
});

test("the target after a few wrong presses still scores (last four count)", () => {
  const game = ws(newGame(), "red", ["LEFT", "UP", "DOWN", "A", "B"]);
  assert.equal(game.players.red.score, 1);
});

test("history keeps only the last four presses", () => {
  const game = ws(newGame(), "red", ["LEFT", "RIGHT", "LEFT", "RIGHT", "LEFT"]);
  assert.deepEqual(game.players.red.history, ["RIGHT", "LEFT", "RIGHT", "LEFT"]);
});

test("once four presses are held, each further non-matching press costs a point", () => {
  let game = withScore(newGame(), "green", 5);
  game = ws(game, "green", ["LEFT", "LEFT", "LEFT", "LEFT"]);
  assert.equal(game.players.green.score, 5, "the first four presses are free");
  game = ws(game, "green", ["LEFT", "RIGHT"]);
  assert.equal(game.players.green.score, 3);
});

test("the score never goes below zero", () => {
  const game = ws(newGame(), "yellow", Array<Button>(10).fill("LEFT"));
  assert.equal(game.players.yellow.score, 0);
});

test("forty points win; the banner names emotion and player; later presses are ignored", () => {
  let game = withScore(newGame(), "red", WINNING_SCORE - 1);
  game = photoUploaded(game, { bucket: "b", key: "k", emotion: "CALM", confidence: 97 });
  game = ws(game, "red", DEFAULT_TARGET);
  assert.equal(game.winner, "red");
  assert.equal(winnerBanner(game), "CALM Red WINS!");
  const after = ws(game, "blue", DEFAULT_TARGET);
  assert.equal(after, game);
  assert.equal(kin(game, "blue", DEFAULT_TARGET), game);
});

test("without a photo the banner uses the default emotion and the transcribed name", () => {
  let game = nameTranscribed(newGame(), "  Ada Lovelace. ");
  game = ws(withScore(game, "red", WINNING_SCORE - 1), "red", DEFAULT_TARGET);
  assert.equal(winnerBanner(game), "HAPPY Ada Lovelace WINS!");
  assert.equal(winnerBanner(newGame()), null);
});

test("SELECT START B A replaces the target and gives 4 points, once per colour", () => {
  let game = ws(newGame(), "blue", ["SELECT", "START", "B", "A"], fixed(0.99));
  assert.equal(game.players.blue.score, 4);
  assert.equal(game.players.blue.shortcutUsed, true);
  assert.deepEqual(game.target, ["RIGHT", "RIGHT", "RIGHT", "RIGHT"]);
  const again = ws(game, "blue", ["SELECT", "START", "B", "A"]);
  assert.equal(again.players.blue.score, 4, "no second shortcut (4 presses held: free)");
  const other = ws(game, "red", ["SELECT", "START", "B", "A"], fixed(0));
  assert.equal(other.players.red.score, 4, "each colour has its own");
  assert.deepEqual(other.target, ["A", "A"]);
});

test("a random target has 2 to 4 buttons and never SELECT or START", () => {
  let seed = 1;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  for (let i = 0; i < 200; i++) {
    const target = randomTarget(random);
    assert.ok(target.length >= 2 && target.length <= 4);
    assert.ok(!target.includes("SELECT") && !target.includes("START"));
  }
});

test("a replaced target of two buttons is matched by the last two presses", () => {
  let game = ws(newGame(), "red", ["SELECT", "START", "B", "A"], fixed(0));
  game = ws(game, "green", ["A", "A"]);
  assert.equal(game.players.green.score, 1);
});

test("Kinesis presses fill the power-up bar, not the score", () => {
  const game = kin(newGame(), "red", DEFAULT_TARGET);
  assert.equal(game.players.red.powerUp, 1);
  assert.equal(game.players.red.score, 0);
  assert.deepEqual(game.players.red.history, []);
});

test("a wrong Kinesis sequence empties the power-up bar", () => {
  let game = kin(newGame(), "red", [...DEFAULT_TARGET, ...DEFAULT_TARGET]);
  assert.equal(game.players.red.powerUp, 2);
  game = kin(game, "red", ["LEFT", "LEFT", "LEFT", "LEFT"]);
  assert.equal(game.players.red.powerUp, 2, "four held, nothing further yet");
  game = kin(game, "red", ["LEFT"]);
  assert.equal(game.players.red.powerUp, 0);
});

test("going past 10 on the power-up bar gives a 5-point boost", () => {
  let game = newGame();
  for (let i = 0; i < 10; i++) game = kin(game, "yellow", DEFAULT_TARGET);
  assert.equal(game.players.yellow.powerUp, 10);
  assert.equal(game.players.yellow.score, 0);
  game = kin(game, "yellow", DEFAULT_TARGET);
  assert.equal(game.players.yellow.score, 5);
  assert.equal(game.players.yellow.powerUp, 0);
});

test("a boost can win the race", () => {
  let game = withScore(newGame(), "green", WINNING_SCORE - 5);
  for (let i = 0; i < 11; i++) game = kin(game, "green", DEFAULT_TARGET);
  assert.equal(game.winner, "green");
});

test("toggle-kinesis turns the power-ups off and on", () => {
  let game = dashClick(newGame(), "toggle-kinesis", "SINGLE");
  assert.equal(game.kinesisEnabled, false);
  assert.equal(kin(game, "red", DEFAULT_TARGET).players.red.powerUp, 0);
  game = dashClick(game, "toggle-kinesis", "DOUBLE");
  assert.equal(kin(game, "red", DEFAULT_TARGET).players.red.powerUp, 1);
});

test("toggle-game SINGLE pauses and resumes; paused presses don't score", () => {
  let game = dashClick(newGame(), "toggle-game", "SINGLE");
  assert.equal(game.paused, true);
  game = ws(game, "red", ["LEFT", ...DEFAULT_TARGET]);
  assert.equal(game.players.red.score, 0);
  assert.equal(kin(game, "red", DEFAULT_TARGET).players.red.powerUp, 0);
  game = dashClick(game, "toggle-game", "SINGLE");
  assert.equal(game.paused, false);
  assert.equal(dashClick(game, "toggle-game", "LONG"), game);
});

test("toggle-game DOUBLE resets scores but keeps names, photos and settings", () => {
  let game = nameTranscribed(newGame(), "Grace");
  game = dashClick(game, "toggle-kinesis", "SINGLE");
  game = ws(withScore(game, "red", WINNING_SCORE - 1), "red", DEFAULT_TARGET);
  assert.equal(game.winner, "red");
  game = dashClick(game, "toggle-game", "DOUBLE");
  assert.equal(game.winner, null);
  assert.equal(game.players.red.score, 0);
  assert.equal(game.players.red.name, "Grace");
  assert.equal(game.kinesisEnabled, false);
  assert.deepEqual(game.target, DEFAULT_TARGET);
  assert.equal(game.players.red.shortcutUsed, false);
});

test("while paused, SELECT START SELECT START selects that colour", () => {
  let game = dashClick(newGame(), "toggle-game", "SINGLE");
  game = ws(game, "green", ["SELECT", "START", "SELECT", "START"]);
  assert.equal(game.selected, "green");
  const running = ws(newGame(), "green", ["SELECT", "START", "SELECT", "START"]);
  assert.equal(running.selected, "red", "not while the game runs");
});

test("toggle-selection moves the selected colour forward (DOUBLE: back)", () => {
  let game = dashClick(newGame(), "toggle-selection", "SINGLE");
  assert.equal(game.selected, "blue");
  game = dashClick(game, "toggle-selection", "DOUBLE");
  game = dashClick(game, "toggle-selection", "DOUBLE");
  assert.equal(game.selected, "yellow");
});

test("photo, avatar and name go to the selected player", () => {
  let game = dashClick(newGame(), "toggle-selection", "SINGLE");
  game = photoUploaded(game, { bucket: "b", key: "p.jpg", emotion: "SURPRISED", confidence: 88.5 });
  game = photoCropped(game, { bucket: "b", key: "c.jpg" });
  game = nameTranscribed(game, "Linus");
  assert.equal(game.players.blue.photo?.emotion, "SURPRISED");
  assert.equal(game.players.blue.avatar?.key, "c.jpg");
  assert.equal(game.players.blue.name, "Linus");
  assert.equal(game.players.red.photo, null);
  assert.equal(nameTranscribed(game, "  ...  "), game, "an empty transcription changes nothing");
});
