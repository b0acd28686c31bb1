"""`python -m bench.soak`: a soak (issue 16, goal 4) of one B3 server under a mixed load.

70 % catalogue (a) and owner (c) reads, 20 % official dashboards (b), 10 % writes (e), from
`wrk` with bench/mix.lua, in one-minute runs back to back (`--minutes`), so every minute has its
own latency percentiles and error count. After each minute: the server's RSS. At the end
`rebuild-aggregates` runs against the same data and must find nothing to fix (every write kept
the aggregates exact). Criteria printed at the end: RSS at the end within 10 % of RSS after the
first minute, no bad answer, p99 of the last minute against the first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.run import (
    LOAD_CPU,
    Server,
    add_dataset_args,
    bench_env,
    prepare_data,
)
from bench.shapes import SHAPES

MIX = Path(__file__).resolve().parent / "mix.lua"


def bodies(ids: dict[str, Any], tmp: Path) -> dict[str, Path]:
    files = {}
    for key in "abce":
        shape = SHAPES[key]
        variables = shape.variables
        if key == "e":
            variables["input"].update(
                umkmId="$UMKM", tahun="$TAHUN", bulan="$BULAN", omzet="$OMZET"
            )
            text = json.dumps({"query": shape.query, "variables": variables})
            for name in ("TAHUN", "BULAN", "OMZET"):
                text = text.replace(f'"${name}"', f"${name}")
        else:
            if "tahun" in variables:
                variables["tahun"] = ids["year"]
            text = json.dumps({"query": shape.query, "variables": variables})
        files[key] = tmp / f"mix-{key}.json"
        files[key].write_text(text)
    return files


def wrk_minute(url: str, seconds: int, connections: int, env: dict[str, str]) -> dict[str, Any]:
    cmd = [
        "taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s",
        "--timeout", "10s", "-s", str(MIX), url,
    ]  # fmt: skip
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    result: dict[str, Any] = {}
    for line in out.splitlines():
        if line.startswith("BADBODY "):
            result["first_bad"] = line[8:]
        if line.startswith("BENCH "):
            result.update(json.loads(line[6:]))
    if "requests" not in result:
        raise RuntimeError(f"wrk printed no result:\n{out}")
    return result


async def rebuild_fixes(env: dict[str, str]) -> str:
    from db.drivers.handles import Databases
    from db.maintenance.rebuild import rebuild_aggregates
    from sigma_graphql.core.settings import load_settings

    dbs = Databases.open(load_settings(env))
    try:
        report = await rebuild_aggregates(dbs)
        return f"fixed {report.fixed}: {report}"
    finally:
        await dbs.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    add_dataset_args(p, synthetic=2000)
    p.add_argument("--minutes", type=int, default=10)
    p.add_argument("--minute-s", type=int, default=60, help="length of one measured run")
    p.add_argument("--mix", default="a:35,c:35,b:20,e:10")
    p.add_argument("--variant", default="b3", choices=("b3", "b3x", "b3s"))
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--output", help="also write the report (markdown) here")
    args = p.parse_args(argv)
    env = bench_env(args)
    ids = asyncio.run(prepare_data(args, env))
    rows = []
    with tempfile.TemporaryDirectory(prefix="sigma-soak-") as tmp:
        files = bodies(ids, Path(tmp))
        wenv = dict(
            env,
            BENCH_MIX=args.mix,
            BENCH_WRITE_POOL=ids["write_pool"],
            BENCH_MONTHS=ids["months"],
            BENCH_TOKEN_C=ids["tokens"]["UMKM_OWNER"],
            BENCH_TOKEN_B=ids["tokens"]["PEJABAT"],
        )
        for key, path in files.items():
            wenv[f"BENCH_BODY_{key.upper()}"] = str(path)
        server = Server(args.variant, SHAPES["a"], env, files["a"])
        try:
            start = time.monotonic()
            for minute in range(1, args.minutes + 1):
                out = wrk_minute(server.url, args.minute_s, args.connections, wenv)
                bad = out["non200"] + out["gql_errors"] + out["socket_errors"]
                rows.append(
                    {
                        "minute": minute,
                        "rps": out["requests"] / (out["duration_us"] / 1e6),
                        "p50": out["p50"] / 1000,
                        "p99": out["p99"] / 1000,
                        "bad": bad,
                        "rss_mb": server.rss_mb(),
                        "first_bad": out.get("first_bad", ""),
                    }
                )
                r = rows[-1]
                print(
                    f"# minute {minute} ({time.monotonic() - start:.0f} s): {r['rps']:.0f} req/s, "
                    f"p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, bad {bad}, "
                    f"RSS {r['rss_mb']:.1f} MB {r['first_bad'][:200]}",
                    flush=True,
                )
        finally:
            server.stop()
    rebuilt = asyncio.run(rebuild_fixes(env))
    text = report(rows, rebuilt, args)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    return 0


def environment_line() -> str:
    load = Path("/proc/loadavg").read_text().split()[:3]
    return f"- {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; loadavg at the end {load}"


def report(rows: list[dict[str, Any]], rebuilt: str, args: argparse.Namespace) -> str:
    lines = [
        environment_line(),
        f"- soak: {args.minutes} x {args.minute_s} s against one {args.variant.upper()} server "
        f"(one worker), mix {args.mix}, wrk -t1 -c{args.connections}, data {args.database}",
        "",
        "| minute | req/s | p50 ms | p99 ms | bad | RSS MB |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['minute']} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} | {r['bad']} "
            f"| {r['rss_mb']:.1f} |"
        )
    first, last = rows[0], rows[-1]
    growth = (last["rss_mb"] - first["rss_mb"]) / first["rss_mb"] * 100
    bad = sum(r["bad"] for r in rows)
    lines += [
        "",
        f"- RSS after minute 1 {first['rss_mb']:.1f} MB, at the end {last['rss_mb']:.1f} MB "
        f"({growth:+.1f} %; goal within 10 %): {'met' if abs(growth) <= 10 else 'NOT met'}",
        f"- bad answers: {bad} ({'met' if bad == 0 else 'NOT met'})",
        f"- p99 first minute {first['p99']:.1f} ms, last minute {last['p99']:.1f} ms",
        f"- rebuild-aggregates afterwards: {rebuilt}",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
