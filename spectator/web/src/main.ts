// Wires the socket to the race model and the view; rendering is batched to one per frame.

import { GatewayConnection } from "./connection.ts";
import { parseFrames } from "./frames.ts";
import { Race } from "./race.ts";
import { RaceView } from "./view.ts";

const root = document.getElementById("app");
if (root === null) throw new Error("index.html has no #app");

const race = new Race();
const view = new RaceView(root);
let scheduled = false;

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    view.render(race);
  });
}

const connection = new GatewayConnection({
  state(state, detail) {
    view.showConnection(state, detail);
  },
  config(config) {
    view.setImageBase(config.imageBase);
    schedule();
  },
  frame(data) {
    const now = Date.now();
    // A batched frame holds a whole Kinesis batch: each event applies in order, one render.
    for (const frame of parseFrames(data)) {
      if (frame.kind === "subscribed") connection.subscribed(frame.batched);
      // A refused subscription is a bug in this page, not a network problem: say so, don't retry.
      if (frame.kind === "error") view.showConnection("refused", `${frame.error}: ${frame.text}`);
      race.receive(frame, now);
    }
    schedule();
  },
});

view.render(race);
connection.start();
