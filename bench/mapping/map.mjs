// Node side of the mapping benchmark: the reference `jsonata` package evaluating the same
// mapping over the same records. Prints one JSON line: {"records", "seconds", "cpuSeconds", "version"}.
// Usage: node map.mjs <jsonata module dir> <mapping.jsonata> <records.json> <passes> <sample out>
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const [moduleDir, mappingFile, recordsFile, passesText, sampleFile] = process.argv.slice(2);
const require = createRequire(path.join(moduleDir, "package.json"));
const jsonata = require("jsonata");
const version = require("jsonata/package.json").version;

const expression = jsonata(readFileSync(mappingFile, "utf8"));
const records = JSON.parse(readFileSync(recordsFile, "utf8"));
const passes = Number(passesText);

// The same work per record as unidir's list path: wrap, map, attach remote_data.
async function mapAll() {
  const out = new Array(records.length);
  for (let i = 0; i < records.length; i++) {
    const mapped = await expression.evaluate({ user: records[i] });
    out[i] = { ...mapped, remote_data: records[i] };
  }
  return out;
}

const warm = await mapAll(); // warm-up: JIT and the expression's first evaluation
writeFileSync(sampleFile, JSON.stringify(warm.slice(0, 200)));
let seconds = 0;
let cpuSeconds = 0;
for (let pass = 0; pass < passes; pass++) {
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  await mapAll();
  seconds += Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  cpuSeconds += (used.user + used.system) / 1e6;
}
console.log(JSON.stringify({ records: records.length * passes, seconds, cpuSeconds, version }));
