"""Server CPU per page rerun: what one officer's click costs the Streamlit process, page by page.

The load test (``benchmarks/load.py``) is limited by the CPU the one app process spends per page rerun. This script
measures that cost without contention: one session, one rerun at a time, on the database the load test prepares
(``load.prepare``: the sample firms indexed and matched, one 招商 account), for the pages the load test drives:

- 检索匹配: a new query on 智能匹配 (``q_text`` + 开始匹配);
- 反馈: a feedback mark (有效 on a hit's control ``fb_<kind>_<target>``) on the answer shown;
- 共建清单, 供需对接: opening each list page (without 生成 Excel: the file is written by a child process);
- 回到检索: back to 智能匹配, which shows the remembered answer again.

Two ways to drive the app:

- ``--via server`` (default): the real ``streamlit run app.py`` over the websocket protocol (the load test's client);
  the cost is the server process's CPU time (all threads: the page script and the event loop that serialises and
  sends its elements) between sending the rerun and a short settle after "script finished".
- ``--via apptest``: ``streamlit.testing.v1.AppTest`` in this process (the page script and the test harness; no
  websocket); ``--profile N`` adds the top N functions of a cProfile of the page-script threads, per page. AppTest
  always reruns the whole page (a click in a fragment too) and leaves out what the server adds (sending the
  elements, the garbage collection after each run), so its numbers are for finding hot spots, not the server's cost.

    python benchmarks/page_cost.py --rounds 10
    python benchmarks/page_cost.py --via apptest --rounds 5 --profile 25

The last line printed is one JSON object: per page, the rerun count, the CPU seconds per rerun (median, mean, p90,
min), the wall seconds (median) and (server) the page elements sent; with ``--profile``, the top functions per page.
``--out FILE`` also saves it; ``--db`` reuses a database prepared before. It also measures older versions of the app
(four feedback buttons per hit instead of one control): copy this file and ``load.py`` into that tree.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import load  # noqa: E402  (the load test's database, server and websocket client)

STEPS = ("检索匹配", "反馈", "共建清单", "供需对接", "回到检索")
SETTLE_S = 0.25  # after "script finished", the server still sends the last messages and tidies up the run


def proc_cpu(pid: int) -> tuple[float, float]:
    """(whole process, its main thread) user + system CPU seconds (Linux ``/proc``)."""
    tick = os.sysconf("SC_CLK_TCK")

    def read(path: str) -> float:
        fields = Path(path).read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    return read(f"/proc/{pid}/stat"), read(f"/proc/{pid}/task/{pid}/stat")


# -- the real server ----------------------------------------------------------------------------------------------
async def via_server(db: Path, folder: Path, rounds: int, seed: int) -> dict[str, list[dict[str, float]]]:
    """Each step of ``rounds`` rounds on a real server: {step: [{cpu, main, wall}]}."""
    import websockets

    port = load.free_port()
    proc = load.serve(db, port, folder / "streamlit.log")
    samples: dict[str, list[dict[str, float]]] = {s: [] for s in STEPS}
    rnd = random.Random(seed)
    try:
        s = load.Session(0, f"http://127.0.0.1:{port}", "officer00")
        async with websockets.connect(f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"],
                                      max_size=2**28, open_timeout=60, ping_interval=None) as ws:

            async def step(name: str | None, states: list[Any], page: str | None = None,
                           fragment: str | None = None) -> None:
                await asyncio.sleep(SETTLE_S)
                cpu0, main0 = proc_cpu(proc.pid)
                started = time.perf_counter()
                await s.rerun(ws, name or "warm", states, page=page, fragment=fragment)
                wall = time.perf_counter() - started
                await asyncio.sleep(SETTLE_S)
                cpu1, main1 = proc_cpu(proc.pid)
                if s.errors:
                    raise RuntimeError(f"页面出错：{s.errors[:3]}")
                if name:
                    samples[name].append({"cpu": cpu1 - cpu0, "main": main1 - main0, "wall": wall,
                                          "deltas": s.deltas})

            await step(None, [])
            await step(None, [s.state("login_user", string_value=s.user),
                              s.state("login_password", string_value=load.PASSWORD),
                              s.state("submit:login", trigger_value=True)])
            # one unmeasured round: the first search loads the model and indexes, the first list reads the results
            for n in range(rounds + 1):
                name: Callable[[str], str | None] = (lambda x: x) if n else (lambda x: None)
                text = s.state("q_text", string_value=rnd.choice(load.QUERIES) + f"（成本{n}）")
                await step(name("检索匹配"), [text, s.state("match_go", trigger_value=True)], page="智能匹配")
                # one feedback control per hit (before: four buttons per hit, ``fb_<kind>_<target>_<verdict>``)
                marks = sorted(k for k in s.widgets if k.startswith("fb_") and
                               (s.widgets[k][1] == "button_group" or k.endswith("_有效")))
                if not marks:
                    raise RuntimeError("检索后没有反馈控件")
                mark, acks = rnd.choice(marks), s.acks  # a click inside a fragment reruns only that fragment
                click = s.pick(mark, "有效") if s.widgets[mark][1] == "button_group" else \
                    s.state(mark, trigger_value=True)
                await step(name("反馈"), [text, click], fragment=s.fragments.get(mark))
                if s.acks == acks:
                    raise RuntimeError(f"反馈 {mark} 没有得到“已记录反馈”的确认")
                for page in ("共建清单", "供需对接"):
                    await step(name(page), [], page=page)
                await step(name("回到检索"), [], page="智能匹配")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except Exception:  # noqa: BLE001
            proc.kill()
    return samples


# -- AppTest in this process --------------------------------------------------------------------------------------
class ScriptProfiles:
    """cProfile of every page-script run, per step (the script runs in its own thread, so it is hooked there)."""

    def __init__(self) -> None:
        self.current: str | None = None
        self.by_step: dict[str, pstats.Stats] = {}
        self._lock = threading.Lock()

    def install(self) -> None:
        from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

        original = ScriptRunner._run_script
        profiles = self

        def run_script(runner: Any, rerun_data: Any) -> None:
            step = profiles.current
            if step is None:
                return original(runner, rerun_data)
            prof = cProfile.Profile()
            prof.enable()
            try:
                return original(runner, rerun_data)
            finally:
                prof.disable()
                with profiles._lock:
                    if step in profiles.by_step:
                        profiles.by_step[step].add(prof)
                    else:
                        profiles.by_step[step] = pstats.Stats(prof)

        ScriptRunner._run_script = run_script  # type: ignore[method-assign]

    def top(self, n: int) -> dict[str, list[dict[str, Any]]]:
        """Per step, the ``n`` functions with the most cumulative time (and their own time), over all its runs."""
        out: dict[str, list[dict[str, Any]]] = {}
        for step, stats in self.by_step.items():
            rows = []
            for (file, line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
                where = file.replace(str(ROOT) + "/", "").split("site-packages/")[-1]
                rows.append({"function": f"{where}:{line}({func})", "calls": nc, "own_s": round(tt, 4),
                             "cum_s": round(ct, 4)})
            rows.sort(key=lambda r: -r["cum_s"])
            out[step] = rows[:n]
        return out


def via_apptest(db: Path, rounds: int, seed: int, profiles: ScriptProfiles | None) -> dict[str, list[dict[str, float]]]:
    """Each step of ``rounds`` rounds through AppTest in this process: {step: [{cpu, wall}]}."""
    from streamlit.testing.v1 import AppTest

    os.environ["MATCHER_DB"] = str(db)
    os.environ.pop("MATCHER_PASSWORD", None)
    samples: dict[str, list[dict[str, float]]] = {s: [] for s in STEPS}
    rnd = random.Random(seed)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.run()
    at.text_input(key="login_user").input("officer00")
    at.text_input(key="login_password").input(load.PASSWORD)
    at.button[0].click().run()
    files = {"智能匹配": "app_pages/match.py", "共建清单": "app_pages/cobuild.py", "供需对接": "app_pages/supply.py"}

    def step(name: str | None, act: Callable[[], Any]) -> None:
        if profiles is not None:
            profiles.current = name
        cpu0, started = time.process_time(), time.perf_counter()
        act()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - started
        if at.exception or at.error:
            raise RuntimeError(f"页面出错：{[e.value for e in (*at.exception, *at.error)][:3]}")
        if name:
            samples[name].append({"cpu": cpu, "wall": wall})

    for n in range(rounds + 1):
        name: Callable[[str], str | None] = (lambda x: x) if n else (lambda x: None)
        query = rnd.choice(load.QUERIES) + f"（成本{n}）"

        def search(q: str = query) -> None:
            at.text_area(key="q_text").input(q)
            at.button(key="match_go").click().run()

        step(name("检索匹配"), search)
        marks = sorted(c.key for c in at.segmented_control if c.key and c.key.startswith("fb_"))
        if not marks:
            raise RuntimeError("检索后没有反馈控件")
        mark = rnd.choice(marks)
        step(name("反馈"), lambda m=mark: at.segmented_control(key=m).set_value("有效").run())
        for page in ("共建清单", "供需对接"):
            step(name(page), lambda p=page: at.switch_page(files[p]).run())
        step(name("回到检索"), lambda: at.switch_page(files["智能匹配"]).run())
    if profiles is not None:
        profiles.current = None
    return samples


def summary(samples: dict[str, list[dict[str, float]]]) -> dict[str, Any]:
    """Per step: n, CPU per rerun (median, mean, p90, min), main-thread CPU (server), wall median."""
    out: dict[str, Any] = {}
    for step, rows in samples.items():
        if not rows:
            continue
        cpu = sorted(r["cpu"] for r in rows)
        entry = {"n": len(rows), "cpu_median_s": round(statistics.median(cpu), 3),
                 "cpu_mean_s": round(statistics.fmean(cpu), 3),
                 "cpu_p90_s": round(cpu[min(len(cpu) - 1, int(round(0.9 * (len(cpu) - 1))))], 3),
                 "cpu_min_s": round(cpu[0], 3), "wall_median_s": round(statistics.median(r["wall"] for r in rows), 3)}
        if "main" in rows[0]:
            entry["main_thread_cpu_median_s"] = round(statistics.median(r["main"] for r in rows), 3)
            entry["deltas_median"] = statistics.median(r["deltas"] for r in rows)
        out[step] = entry
    everything = [r["cpu"] for rows in samples.values() for r in rows]
    if everything:
        out["全部"] = {"n": len(everything), "cpu_mean_s": round(statistics.fmean(everything), 3)}
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="每次页面运行占用应用进程多少 CPU（压测所用的各页面，单会话、无争用）")
    ap.add_argument("--via", choices=("server", "apptest"), default="server",
                    help="server：真实 streamlit 服务器（默认）；apptest：本进程内的 AppTest")
    ap.add_argument("--rounds", type=int, default=10, help="每个页面测量的次数（另加一轮不计的预热）")
    ap.add_argument("--profile", type=int, default=0, metavar="N",
                    help="（apptest）每个页面列出 cProfile 累计时间最多的 N 个函数")
    ap.add_argument("--db", type=Path, help="用已有的压测数据库（load.prepare 的结果），不重新准备")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, help="另把 JSON 写入这个文件")
    ap.add_argument("--label", default="", help="写进结果的说明（如所测的版本）")
    args = ap.parse_args(argv)
    if args.profile and args.via != "apptest":
        ap.error("--profile 需要 --via apptest")
    folder = Path(tempfile.mkdtemp(prefix="matcher-pagecost-"))
    try:
        t0 = time.monotonic()
        db = args.db or load.prepare(folder, 1)
        prep_s = time.monotonic() - t0
        profiles = ScriptProfiles() if args.profile else None
        if profiles:
            profiles.install()
        if args.via == "server":
            samples = asyncio.run(via_server(db, folder, args.rounds, args.seed))
        else:
            samples = via_apptest(db, args.rounds, args.seed, profiles)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    result: dict[str, Any] = {"via": args.via, "rounds": args.rounds, "pages": summary(samples),
                              "prepare_s": round(prep_s, 1), "load_avg": os.getloadavg(), "label": args.label,
                              "commit": commit.stdout.strip() or None,
                              "at": datetime.now(UTC).isoformat(timespec="seconds")}
    if profiles:
        result["profile_top"] = profiles.top(args.profile)
    if args.via == "server":
        result["note"] = "cpu = 应用进程全部线程；main = 其事件循环线程（序列化并发送页面元素）"
    for step, entry in result["pages"].items():
        print(f"{step}\t{entry}", file=sys.stderr)
    text = json.dumps(result, ensure_ascii=False)
    if args.out:
        args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
