// Bundles the page into dist/ (index.html, style.css, app.js); with --tests, bundles each
// test/*.test.ts into node_modules/.cache/race-tests/ for `node --test`. Nothing is fetched at run time.
import { build } from "esbuild";
import { copyFile, mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";

const root = new URL(".", import.meta.url).pathname;
const dist = join(root, "dist");

if (process.argv.includes("--tests")) {
  // Under node_modules (ignored by git, never served), not dist/, which the page server serves.
  const out = join(root, "node_modules", ".cache", "race-tests");
  await rm(out, { recursive: true, force: true });
  const tests = (await readdir(join(root, "test"))).filter((f) => f.endsWith(".test.ts"));
  await build({
    entryPoints: tests.map((f) => join(root, "test", f)),
    outdir: out,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    logLevel: "warning",
  });
} else {
  await mkdir(dist, { recursive: true });
  await build({
    entryPoints: [join(root, "src", "main.ts")],
    outfile: join(dist, "app.js"),
    bundle: true,
    minify: true,
    sourcemap: true,
    format: "esm",
    target: "es2020",
    logLevel: "warning",
  });
  for (const file of ["index.html", "style.css"]) {
    await copyFile(join(root, "static", file), join(dist, file));
  }
}
