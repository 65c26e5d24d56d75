// Where a player's picture and avatar are fetched from, and what they say when they can't be
// shown. Pure, so the URL rules are tested without a browser.

import type { Photo } from "./game.ts";

export interface S3Object {
  readonly bucket: string;
  readonly key: string;
}

/**
 * The URL of an uploaded object. With an `imageBase` (the page server's relay of a local
 * backend, "/uploads/"), `<base><bucket>/<key>`; without one, the public S3 URL the original
 * page built. The key is encoded whole (slashes too) in both forms, as the original did.
 */
export function imageUrl(imageBase: string | null, object: S3Object): string {
  const key = encodeURIComponent(object.key);
  if (imageBase === null) return `https://${object.bucket}.s3.amazonaws.com/${key}`;
  const base = imageBase.endsWith("/") ? imageBase : `${imageBase}/`;
  return `${base}${encodeURIComponent(object.bucket)}/${key}`;
}

export function s3Uri(object: S3Object): string {
  return `s3://${object.bucket}/${object.key}`;
}

/** The emotion and confidence as the lane prints them, e.g. "SURPRISED 94%". */
export function moodText(photo: Photo | null): string {
  return photo ? `${photo.emotion} ${Math.round(photo.confidence)}%` : "";
}

export function photoAlt(name: string, photo: Photo): string {
  return `${name}'s photo: ${moodText(photo)}`;
}

export function avatarAlt(name: string): string {
  return `${name}'s avatar`;
}
