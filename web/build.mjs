// Bundles the demo chat page into index.html + app.js + app.css (esbuild's JS API).
//
//   npm run build                      -> ../src/uiwire/demo/static/
//   npm run build -- --outdir <dir>    -> <dir>   (or UIWIRE_DEMO_OUTDIR=<dir>)
//
// The output is byte-for-byte reproducible from the same sources and lockfile: no
// timestamps, no source maps, no paths, legal comments collected at the end of app.js.
import { build } from "esbuild";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { outdir: { type: "string" } } });
const outdir = path.resolve(
  values.outdir ?? process.env.UIWIRE_DEMO_OUTDIR ?? path.join(here, "..", "src", "uiwire", "demo", "static"),
);

// zod 4 (the `ai` package's schema library) re-exports all of its ~50 error-message
// locales through the `z` namespace, which defeats tree shaking: ~260 kB of the bundle.
// Nothing here selects a locale, so the locale index is cut down to the default (en).
const zodLocalesEnOnly = {
  name: "zod-locales-en-only",
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]v4[\\/]/.test(args.importer)
        ? { path: "zod-locales", namespace: "zod-locales", pluginData: path.join(path.dirname(args.importer), "..", "locales") }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "zod-locales" }, (args) => ({
      contents: 'export { default as en } from "./en.js";\n',
      resolveDir: args.pluginData,
      loader: "js",
    }));
  },
};

const result = await build({
  absWorkingDir: here,
  entryPoints: { app: "src/main.tsx" },
  outdir: "dist", // nothing is written there (write: false); it only names the outputs
  write: false,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["chrome105", "edge105", "firefox110", "safari16"],
  jsx: "automatic",
  minify: true,
  sourcemap: false,
  legalComments: "eof",
  charset: "ascii",
  define: { "process.env.NODE_ENV": '"production"' },
  loader: { ".svg": "empty", ".png": "empty", ".woff": "empty", ".woff2": "empty" },
  logLevel: "warning",
  metafile: true,
  plugins: [zodLocalesEnOnly],
});

const files = new Map([["index.html", await readFile(path.join(here, "src", "index.html"))]]);
for (const output of result.outputFiles) {
  const name = path.basename(output.path);
  if (name !== "app.js" && name !== "app.css") throw new Error(`unexpected build output ${name}`);
  files.set(name, output.contents);
}
for (const name of ["app.js", "app.css"]) {
  if (!files.has(name)) throw new Error(`the build produced no ${name}`);
}

await mkdir(outdir, { recursive: true });
for (const [name, contents] of files) {
  await writeFile(path.join(outdir, name), contents);
  console.log(`${name.padEnd(10)} ${String(contents.length).padStart(8)} bytes`);
}
console.log(`written to ${path.relative(process.cwd(), outdir) || "."}`);
