"""`python -m bench.event_latency`: cross-process event latency through NATS (issue 17).

Two API processes (sigma_graphql/commands/cluster.py) on the bench databases. The owner of one
synthetic UMKM subscribes to `notificationAdded` on process A and on process B; a PEJABAT flags
and unflags one month through process A, one write at a time, `--events` times (each write is one
notification). For every write: t0 just before the request is sent, the arrival of the event on
A's subscriber (same process: no broker hop), on B's subscriber (through NATS) and the mutation's
answer. Reported: p50/p99 of write->event on B (the issue's figure), write->event on A, the
broker hop (B - A per event) and the write's own answer time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

import httpx
import websockets

from bench.run import add_dataset_args, bench_env, free_port, prepare_data
from sigma_graphql.commands.cluster import Cluster

SUBSCRIBE = "subscription { notificationAdded { id type } }"
FLAG = """mutation($u: ID!, $t: Int!, $b: Int!) {
  flagFinancialLog(input: {umkmId: $u, tahun: $t, bulan: $b, reason: "bench: lonjakan omzet"}) {
    userErrors { code } } }"""
UNFLAG = """mutation($u: ID!, $t: Int!, $b: Int!) {
  unflagFinancialLog(umkmId: $u, tahun: $t, bulan: $b) { userErrors { code } } }"""


async def subscriber(url: str, token: str, arrivals: asyncio.Queue[float]) -> None:
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        )
        ack = json.loads(await ws.recv())
        assert ack["type"] == "connection_ack", ack
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}))
        async for raw in ws:
            at = time.perf_counter()
            msg = json.loads(raw)
            if msg.get("type") == "next":
                if msg["payload"].get("errors"):
                    raise RuntimeError(msg["payload"]["errors"])
                arrivals.put_nowait(at)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(args: argparse.Namespace, ids: dict[str, Any], cluster: Cluster) -> str:
    a, b = (f"127.0.0.1:{p}" for p in cluster.api_ports[:2])
    owner_token = ids["tokens"]["UMKM_OWNER"]
    staff = {"Authorization": f"Bearer {ids['tokens']['PEJABAT']}"}
    tahun, bulan = ids["probe_month"]
    variables = {"u": ids["probe_umkm"], "t": tahun, "b": bulan}
    on_a: asyncio.Queue[float] = asyncio.Queue()
    on_b: asyncio.Queue[float] = asyncio.Queue()
    tasks = [
        asyncio.create_task(subscriber(f"ws://{a}/graphql", owner_token, on_a)),
        asyncio.create_task(subscriber(f"ws://{b}/graphql", owner_token, on_b)),
    ]
    await asyncio.sleep(1.0)  # both subscriptions registered
    remote, local, hop, answer = [], [], [], []
    async with httpx.AsyncClient(base_url=f"http://{a}", timeout=30) as http:
        flagged = False
        done = 0
        while done < args.events:
            query = UNFLAG if flagged else FLAG
            t0 = time.perf_counter()
            resp = await http.post(
                "/graphql", json={"query": query, "variables": variables}, headers=staff
            )
            t_answer = time.perf_counter()
            payload = resp.json()["data"]
            errors = next(iter(payload.values()))["userErrors"]
            flagged = not flagged
            if errors:  # the month was in the other state already: no event, try the other
                continue
            t_a = await asyncio.wait_for(on_a.get(), 30)
            t_b = await asyncio.wait_for(on_b.get(), 30)
            remote.append((t_b - t0) * 1000)
            local.append((t_a - t0) * 1000)
            hop.append((t_b - t_a) * 1000)
            answer.append((t_answer - t0) * 1000)
            done += 1
    for task in tasks:
        task.cancel()
    rows = [
        ("write on A -> event on B's subscriber (through NATS)", remote),
        ("write on A -> event on A's subscriber (same process)", local),
        ("broker hop: B - A, per event", hop),
        ("write on A -> its answer", answer),
    ]
    lines = [
        f"{args.events} events; 2 API processes, NATS on loopback",
        "",
        "| measure | p50 ms | p99 ms | max ms | mean ms |",
        "|---|---|---|---|---|",
    ]
    for name, values in rows:
        lines.append(
            f"| {name} | {pct(values, 0.5):.2f} | {pct(values, 0.99):.2f} | "
            f"{max(values):.2f} | {statistics.fmean(values):.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.event_latency")
    add_dataset_args(p, synthetic=2_000)
    p.add_argument("--events", type=int, default=1000)
    args = p.parse_args(argv)
    env = bench_env(args)
    ids = asyncio.run(prepare_data(args, env))
    env["SIGMA_RECONCILE_INTERVAL_S"] = "0"
    cluster = Cluster(2, free_port(), env=env).start()
    try:
        print(asyncio.run(run(args, ids, cluster)))
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
