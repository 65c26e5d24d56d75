import { test } from "node:test";
import assert from "node:assert/strict";

import { avatarAlt, imageUrl, moodText, photoAlt, s3Uri } from "../src/images.ts";
import { parseConfig } from "../src/connection.ts";

const photo = { bucket: "tumble-uploads", key: "photos/ada smile.jpg", emotion: "SURPRISED", confidence: 93.5 };

test("without an image base, images come from the public S3 URL, key encoded whole", () => {
  assert.equal(
    imageUrl(null, photo),
    "https://tumble-uploads.s3.amazonaws.com/photos%2Fada%20smile.jpg",
  );
});

test("with an image base, images come through the page server's relay", () => {
  assert.equal(imageUrl("/uploads/", photo), "/uploads/tumble-uploads/photos%2Fada%20smile.jpg");
  assert.equal(imageUrl("/uploads", { bucket: "b", key: "a+b?#.png" }), "/uploads/b/a%2Bb%3F%23.png");
});

test("alt texts and the text fallback say who and what", () => {
  assert.equal(moodText(photo), "SURPRISED 94%");
  assert.equal(moodText(null), "");
  assert.equal(photoAlt("Ada", photo), "Ada's photo: SURPRISED 94%");
  assert.equal(avatarAlt("Ada"), "Ada's avatar");
  assert.equal(s3Uri(photo), "s3://tumble-uploads/photos/ada smile.jpg");
});

test("config.json: imageBase is a string or null, and absent means null", () => {
  assert.deepEqual(parseConfig({ wsUrl: "ws://x", token: "t", imageBase: "/uploads/" }), {
    wsUrl: "ws://x",
    token: "t",
    imageBase: "/uploads/",
  });
  assert.equal(parseConfig({ wsUrl: "ws://x", token: "t", imageBase: null }).imageBase, null);
  assert.equal(parseConfig({ wsUrl: "ws://x", token: "t" }).imageBase, null);
  assert.throws(() => parseConfig({ wsUrl: "ws://x", token: "t", imageBase: 3 }), /imageBase/);
  assert.throws(() => parseConfig({ wsUrl: 1, token: "t" }), /wsUrl and token/);
  assert.throws(() => parseConfig(null), /not an object/);
});
