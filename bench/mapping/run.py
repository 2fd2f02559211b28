"""Okta users -> unified Users: unidir's mapping path vs the reference JSONata under Node.

unidir: exactly what ``Engine._map_many`` does for a users list page -- wrap each record as
``{"user": record}``, ``CompiledMapping.evaluate_many`` (jsonatapy), then ``shape_record``
(unified format: mapped fields plus ``remote_data``).
Node: the same ``user.jsonata`` evaluated by the ``jsonata`` npm package (installed by this
script under bench/mapping/.node/), same records, same wrap and ``remote_data``.

Records come from the Okta sandbox's own seeding (``seed_org``) rendered as Okta's list JSON,
so they are deterministic for a given --seed. Passes alternate Python / Node; each side
warms up first and is timed without start-up or JSON loading.

Run from the repository root:  .venv/bin/python -m bench.mapping.run
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import unidir.integrations
from unidir.integrations.registry import load_registry
from unidir.runtime import tune_garbage_collector
from unidir.sandbox.okta import render
from unidir.sandbox.okta.org import Org
from unidir.sandbox.okta.seed import default_group_count, seed_org
from unidir.unified.models import UNIFIED_RESOURCES
from unidir.unified.shaping import ShapingOptions, shape_record

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / ".node"
JSONATA_VERSION = "2.2.2"
TARGET = 3.0  # unidir records/s over Node's, at least
MAPPING_FILE = Path(unidir.integrations.__file__).parent / "okta" / "mappings" / "user.jsonata"


@dataclass(frozen=True)
class Timing:
    records: int
    wall: float
    cpu: float

    @property
    def rate(self) -> float:
        return self.records / self.wall

    @property
    def cpu_rate(self) -> float:
        return self.records / self.cpu


def okta_users(count: int, seed: int) -> list[dict[str, Any]]:
    """The sandbox's seeded users, as GET /api/v1/users returns them."""
    org = Org(seed)
    seed_org(org, count, default_group_count(count), seed)
    base = "http://127.0.0.1:8089"
    return [render.user_in_list(user, base, org.user_type_id) for user in org.users.values()]


def install_jsonata() -> Path:
    module = NODE_DIR / "node_modules" / "jsonata"
    installed = module / "package.json"
    if installed.exists() and json.loads(installed.read_text())["version"] == JSONATA_VERSION:
        return NODE_DIR
    NODE_DIR.mkdir(exist_ok=True)
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is needed for the Node side of this benchmark")
    command = [npm, "install", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund", "--silent"]
    subprocess.run(
        [*command, f"jsonata@{JSONATA_VERSION}"],
        check=True,
        timeout=300,
    )
    return NODE_DIR


def unidir_pass(records: list[dict[str, Any]]) -> tuple[Timing, list[Any]]:
    tune_garbage_collector()  # as every serving process does at start (unidir.runtime)
    integration = load_registry().get("okta")
    mapping = integration.mappings["user"]
    options, schema = ShapingOptions(), UNIFIED_RESOURCES["users"]
    cpu, started = time.process_time(), time.perf_counter()
    inputs = [{"user": record} for record in records]
    mapped = mapping.evaluate_many(inputs)
    shaped = [shape_record(m, r, options, schema) for m, r in zip(mapped, records, strict=True)]
    timing = Timing(len(records), time.perf_counter() - started, time.process_time() - cpu)
    return timing, shaped


def node_pass(records_file: Path, passes: int, sample_file: Path) -> tuple[Timing, str]:
    node = shutil.which("node")
    if node is None:
        raise SystemExit("node is needed for the Node side of this benchmark")
    command = [node, str(HERE / "map.mjs"), str(NODE_DIR), str(MAPPING_FILE)]
    command += [str(records_file), str(passes), str(sample_file)]
    out = subprocess.run(command, check=True, capture_output=True, timeout=600)
    figures = json.loads(out.stdout.decode().strip().splitlines()[-1])
    timing = Timing(int(figures["records"]), figures["seconds"], figures["cpuSeconds"])
    return timing, str(figures["version"])


def differences(ours: list[Any], theirs: list[Any]) -> int:
    """Records whose JSON differs; JSON round-trip so both sides drop 'undefined' alike."""
    mine = [json.loads(json.dumps(o)) for o in ours[: len(theirs)]]
    return sum(1 for a, b in zip(mine, theirs, strict=True) if a != b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000, help="Okta users to map")
    parser.add_argument("--repeats", type=int, default=5, help="alternating timed rounds")
    parser.add_argument("--seed", type=int, default=1, help="seed of the sandbox's seeding")
    args = parser.parse_args()

    records = okta_users(args.records, args.seed)
    install_jsonata()
    with tempfile.TemporaryDirectory(prefix="unidir-bench-mapping-") as tmp:
        records_file, sample_file = Path(tmp) / "records.json", Path(tmp) / "sample.json"
        records_file.write_text(json.dumps(records))
        _, sample = unidir_pass(records)  # warm-up, and the output to compare
        timings: dict[str, list[Timing]] = {"python": [], "node": []}
        version = ""
        for repeat in range(args.repeats):
            sides = ("python", "node") if repeat % 2 == 0 else ("node", "python")
            for side in sides:
                if side == "python":
                    timing, _ = unidir_pass(records)
                else:
                    timing, version = node_pass(records_file, 1, sample_file)
                timings[side].append(timing)
            print(
                f"round {repeat + 1}: unidir {timings['python'][-1].rate:>9,.0f} records/s"
                f"   node jsonata {timings['node'][-1].rate:>9,.0f} records/s"
            )
        theirs_sample = json.loads(sample_file.read_text())
        differing = differences(sample, theirs_sample)

    ours = statistics.median(t.rate for t in timings["python"])
    theirs = statistics.median(t.rate for t in timings["node"])
    ours_cpu = statistics.median(t.cpu_rate for t in timings["python"])
    theirs_cpu = statistics.median(t.cpu_rate for t in timings["node"])
    ratio = ours / theirs
    print("\n=== summary: Okta user -> unified User (median of rounds) ===")
    print(f"records per pass        {len(records):,} (sandbox seeding, seed {args.seed})")
    print(f"{'':<24}{'records/s':>12}{'per CPU-s':>12}")
    print(f"{'unidir (jsonatapy)':<24}{ours:>12,.0f}{ours_cpu:>12,.0f}")
    print(f"{'node jsonata ' + version:<24}{theirs:>12,.0f}{theirs_cpu:>12,.0f}")
    verdict = "MET" if ratio >= TARGET else "NOT MET"
    print(f"{'ratio unidir / node':<24}{ratio:>11.2f}x{ours_cpu / theirs_cpu:>11.2f}x")
    print(f"target >= {TARGET:.0f}x (records/s): {verdict}")
    print(f"outputs compared: {len(theirs_sample)} records, {differing} differ")


if __name__ == "__main__":
    main()
