"""Many officers on one server: N app sessions over the real Streamlit server while a batch run and an import write.

Each session is a websocket client speaking Streamlit's own protocol (the messages a browser tab sends: script
reruns with widget states), so the server does exactly the work it does for a browser, and the clients cost almost
no CPU on the machine under test. A session logs in with its own 招商 account, then loops: a search on 智能匹配, now
and then a feedback mark, the 共建清单 and 供需对接 pages (each renders its list; now and then 生成 Excel is clicked —
the page writes the file, timed as 下载<list> — and the offered file is fetched over HTTP). Meanwhile ``matcher batch`` runs repeatedly and ``matcher import`` imports a
generated register, as separate processes on the same database.

A click on a widget drawn inside an ``st.fragment`` (the hits with their feedback controls) is sent as a browser sends
it: a rerun of that fragment only. Page response = from sending the rerun to the server's "script finished" (downloads are timed
apart). Errors = an exception or error box on a
page, a failed download, a lost connection, or any "database is locked". After the run, the feedback marks each
session saw confirmed (the page's "已记录反馈" notice) are counted in the database; a lost mark is one confirmed but
not stored.

    python benchmarks/load.py --sessions 20 --minutes 10
    python benchmarks/load.py --sessions 5 --minutes 1 --no-writers     # a quick check

The last line is one JSON object; the full result goes to ``benchmarks/results/load-<sessions>x<minutes>-<time>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"
PASSWORD = "load-test-pass"
QUERIES = ("主营单晶硅片、光伏电池和光伏组件，计划扩产，需要多晶硅料和光伏玻璃", "钛合金棒材和航空紧固件，需要海绵钛",
           "新能源重卡整车制造，采购动力电池和车桥", "无人机飞控与整机研发，需要碳纤维复合材料",
           "生物医药：疫苗研发生产，需要培养基和玻璃瓶", "半导体封装测试，需要引线框架和塑封料",
           "数控机床主轴与刀具制造", "乳制品加工，奶源基地和包装材料采购", "氢燃料电池电堆与双极板",
           "软件开发与信息系统集成，数据中心运维")


# -- the server and the writers ---------------------------------------------------------------------------------
def prepare(folder: Path, sessions: int) -> Path:
    """A database of the sample firms, indexed and matched as ``make build`` does, with one 招商 account per session."""
    from matcher.ingest.importer import import_file
    from matcher.match.engine import Matcher
    from matcher.store.database import Store
    from matcher.store.users import add_user
    from matcher.work import batch

    db = folder / "load.db"
    store = Store(db, user="压测准备")
    for name in ("firms_shaanxi.csv", "spillover_profiles.csv"):
        import_file(store, ROOT / "data" / "sample" / name)
    Matcher.for_store(store)
    batch.firms_run(store)
    add_user(store, "admin", PASSWORD, "管理")
    admin = Store(db, user="admin", role="管理")
    for i in range(sessions):
        add_user(admin, f"officer{i:02d}", PASSWORD, "招商")
    admin.close()
    store.close()
    return db


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(db: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """``streamlit run app.py`` on 127.0.0.1 over ``db``; returns once it answers its health check."""
    env = {k: v for k, v in os.environ.items() if k != "MATCHER_PASSWORD"}
    env.update(MATCHER_DB=str(db), PYTHONPATH=str(ROOT))
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port",
                                 str(port), "--server.address", "127.0.0.1", "--server.headless", "true"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("streamlit did not start within 120 s")


def cli(args: list[str], db: Path, log: Path, nice: int = 0) -> tuple[int, float]:
    """Run one ``matcher`` command on ``db`` as a separate process (``nice``: as ``nice -n``); (exit code, seconds)."""
    env = dict(os.environ, MATCHER_DB=str(db), PYTHONPATH=str(ROOT), MATCHER_USER="批量任务")
    started = time.monotonic()
    prefix = ["nice", "-n", str(nice)] if nice else []
    with open(log, "ab") as out:
        rc = subprocess.run([*prefix, sys.executable, "-m", "matcher.cli", *args, "--db", str(db)], cwd=ROOT, env=env,
                            stdout=out, stderr=subprocess.STDOUT).returncode
    return rc, time.monotonic() - started


async def writers(db: Path, folder: Path, stop: asyncio.Event, import_rows: int, batch_rows: int,
                  out: dict[str, Any], nice: int = 0) -> None:
    """Batch runs back to back, and one import of a generated register a third of the way in."""
    gen = [sys.executable, str(ROOT / "benchmarks" / "gen.py")]
    subprocess.run([*gen, "--firms", str(batch_rows), "--seed", "7", "--out", str(folder / "batch.csv")], check=True,
                   cwd=ROOT, capture_output=True)
    subprocess.run([*gen, "--firms", str(import_rows), "--seed", "11", "--out", str(folder / "import.csv")],
                   check=True, cwd=ROOT, capture_output=True)
    log = folder / "writers.log"
    out.update(batch_runs=[], imports=[])

    async def batches() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            rc, secs = await asyncio.to_thread(cli, ["batch", str(folder / "batch.csv"), "-o",
                                                     str(folder / f"batch-{n}.xlsx"), "--restart"], db, log, nice)
            out["batch_runs"].append({"rc": rc, "seconds": round(secs, 1)})

    async def one_import() -> None:
        try:
            await asyncio.wait_for(stop.wait(), timeout=out["import_after_s"])
        except TimeoutError:
            rc, secs = await asyncio.to_thread(cli, ["import", str(folder / "import.csv")], db, log, nice)
            out["imports"].append({"rc": rc, "seconds": round(secs, 1), "rows": import_rows})

    await asyncio.gather(batches(), one_import())


# -- one session --------------------------------------------------------------------------------------------------
@dataclass
class Session:
    """One browser tab's worth of protocol: widget ids seen on the page, timings, errors and accepted marks."""

    n: int
    base: str
    user: str
    times: list[tuple[str, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    marks: int = 0
    pages: dict[str, str] = field(default_factory=dict)  # page title → script hash
    widgets: dict[str, tuple[str, str]] = field(default_factory=dict)  # key → (id, kind) on the current page
    fragments: dict[str, str] = field(default_factory=dict)  # key → id of the fragment the widget is drawn in
    options: dict[str, list[str]] = field(default_factory=dict)  # key → options of a button group, as sent back
    downloads: list[tuple[str, str, str]] = field(default_factory=list)  # (label, deferred file id, url)
    requests: int = 0
    acks: int = 0  # "已记录反馈" toasts seen: marks the app confirmed to the officer
    updating: list[float] = field(default_factory=list)  # when a page said the index was being updated (epoch s)
    unconfirmed: int = 0  # clicks the app did not confirm (e.g. the button was gone after the results changed)
    session_id: str = ""
    page_hash: str = ""
    deltas: int = 0  # page elements and blocks the last rerun sent

    async def rerun(self, ws: Any, what: str, states: list[Any], page: str | None = None,
                    fragment: str | None = None) -> list[Any]:
        """Send one rerun and read until the script finishes; record its time and any error on the page.

        ``fragment``: the id of the fragment whose widget was used — as a browser does, only that fragment reruns
        (the rest of the page, and its widgets, stay as they are).
        """
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        msg = BackMsg()
        msg.rerun_script.query_string = ""
        msg.rerun_script.page_script_hash = self.pages.get(page, self.page_hash) if page else self.page_hash
        msg.rerun_script.widget_states.widgets.extend(states)
        if fragment:
            msg.rerun_script.fragment_id = fragment
        started = time.perf_counter()
        await ws.send(msg.SerializeToString())
        elements: list[Any] = []
        if not fragment:
            self.widgets, self.downloads, self.fragments, self.options = {}, [], {}, {}
        self.deltas = 0
        while True:
            raw = await asyncio.wait_for(ws.recv(), timeout=300)
            fwd = ForwardMsg()
            fwd.ParseFromString(raw)
            kind = fwd.WhichOneof("type")
            if kind == "new_session":
                self.page_hash = fwd.new_session.page_script_hash or self.page_hash
                self.session_id = fwd.new_session.initialize.session_id or self.session_id
            elif kind == "navigation":
                self.pages = {p.page_name: p.page_script_hash for p in fwd.navigation.app_pages}
                self.page_hash = fwd.navigation.page_script_hash or self.page_hash
            elif kind == "page_info_changed":
                pass
            elif kind == "delta" and fwd.delta.WhichOneof("type") == "add_block":
                self.deltas += 1
            elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                self.deltas += 1
                elements.append(fwd.delta.new_element)
                self._element(fwd.delta.new_element, fwd.delta.fragment_id)
            elif kind == "script_finished":
                status = ForwardMsg.ScriptFinishedStatus.Name(fwd.script_finished)
                if status == "FINISHED_EARLY_FOR_RERUN":
                    continue
                break
        elapsed = time.perf_counter() - started
        self.times.append((what, elapsed))
        return elements

    def _element(self, el: Any, fragment: str = "") -> None:
        kind = el.WhichOneof("type")
        if kind == "exception":
            self.errors.append(f"异常：{el.exception.message[:200]}")
            return
        if kind == "alert" and el.alert.format == 1:  # ERROR
            self.errors.append(f"错误框：{el.alert.body[:200]}")
        body = getattr(el, kind, None)
        text = str(getattr(body, "body", "") or getattr(body, "message", ""))
        if kind == "toast" and "已记录反馈" in text:
            self.acks += 1
        if kind == "alert" and "索引正在更新" in text:
            self.updating.append(time.time())
        if "database is locked" in text:
            self.errors.append("database is locked")
        wid = getattr(body, "id", "")
        if wid:
            key = wid.split("-", 2)[2] if wid.count("-") >= 2 else wid  # "$$ID-<hash>-<user key>"
            if kind == "button" and getattr(body, "is_form_submitter", False):
                key = f"submit:{body.form_id}"
            self.widgets[key] = (wid, kind)
            if fragment:
                self.fragments[key] = fragment
            if kind == "download_button":
                self.downloads.append((body.label, body.deferred_file_id, body.url))
            if kind == "button_group":  # the browser sends a pick back as the option's text, icon first
                self.options[key] = [f"{o.content_icon} {o.content}" if o.content_icon else o.content
                                     for o in body.options]

    def state(self, key: str, **value: Any) -> Any:
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        if key not in self.widgets:
            raise KeyError(f"页面上没有控件 {key}（现有：{sorted(self.widgets)[:20]}）")
        ws = WidgetState(id=self.widgets[key][0])
        for name, v in value.items():
            setattr(ws, name, v)
        return ws

    def pick(self, key: str, option: str) -> Any:
        """The state of button group ``key`` (a segmented control, pills) with the option whose text is ``option``."""
        ws = self.state(key)
        ws.string_array_value.data.extend([o for o in self.options.get(key, []) if o.split(" ")[-1] == option][:1])
        return ws

    async def download(self, ws: Any, label: str, file_id: str, url: str) -> bool:
        """Click a download: a file made on demand is asked for (as the browser does), then fetched over HTTP."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        started = time.perf_counter()
        if file_id:
            self.requests += 1
            msg = BackMsg()
            msg.backend_operation_request.request_id = f"load-{self.n}-{self.requests}"
            msg.backend_operation_request.session_id = self.session_id
            msg.backend_operation_request.deferred_file.file_id = file_id
            await ws.send(msg.SerializeToString())
            while True:
                fwd = ForwardMsg()
                fwd.ParseFromString(await asyncio.wait_for(ws.recv(), timeout=300))
                if fwd.WhichOneof("type") == "backend_operation_response" and \
                        fwd.backend_operation_response.request_id == msg.backend_operation_request.request_id:
                    if fwd.backend_operation_response.error_msg:
                        self.errors.append(f"下载“{label}”失败：{fwd.backend_operation_response.error_msg}")
                        return False
                    url = fwd.backend_operation_response.deferred_file.url
                    break

        def fetch() -> bytes:
            with urllib.request.urlopen(self.base + url if url.startswith("/") else url, timeout=120) as resp:
                return resp.read()

        ok = (await asyncio.to_thread(fetch))[:4] == b"PK\x03\x04"
        if file_id:
            self.times.append((f"下载{label[2:6]}", time.perf_counter() - started))
        return ok


async def run_session(s: Session, url: str, until: float, feedback_rate: float, think: tuple[float, float],
                      delay: float = 0.0, rounds: int | None = None, download_rate: float = 1.0) -> None:
    """Log in, then search / mark / browse the lists until ``until``; every failure is counted, none raised."""
    import websockets

    rnd = random.Random(s.n)
    await asyncio.sleep(delay)  # officers do not all open the app in the same second
    try:
        async with websockets.connect(url, subprotocols=["streamlit"], max_size=2**28, open_timeout=60,
                                      ping_interval=None) as ws:
            await s.rerun(ws, "打开", [])
            await s.rerun(ws, "登录", [s.state("login_user", string_value=s.user),
                                      s.state("login_password", string_value=PASSWORD),
                                      s.state("submit:login", trigger_value=True)])
            if "q_text" not in s.widgets:
                s.errors.append(f"登录后没有看到检索页：{sorted(s.widgets)[:10]}")
                return
            done = 0
            while time.monotonic() < until and (rounds is None or done < rounds):
                done += 1
                query = rnd.choice(QUERIES) + f"（会话{s.n}）"
                text = s.state("q_text", string_value=query)
                await s.rerun(ws, "检索匹配", [text, s.state("match_go", trigger_value=True)], page="智能匹配")
                marks = [k for k in s.widgets if k.startswith("fb_")]  # each hit's feedback control
                if marks and rnd.random() < feedback_rate:
                    before = s.acks
                    mark = rnd.choice(marks)
                    await s.rerun(ws, "反馈", [text, s.pick(mark, "有效")], fragment=s.fragments.get(mark))
                    if s.acks > before:
                        s.marks += 1
                    else:
                        s.unconfirmed += 1
                await asyncio.sleep(rnd.uniform(*think))
                for page in ("共建清单", "供需对接"):
                    if time.monotonic() >= until:
                        break
                    await s.rerun(ws, page, [], page=page)
                    maker = "cb_download_xlsx_make" if page == "共建清单" else "sd_download_xlsx_make"
                    xlsx = [d for d in s.downloads if "Excel" in d[0]]  # offered already when made earlier
                    if not xlsx and maker not in s.widgets:
                        s.errors.append(f"{page}：既没有“生成 Excel”按钮也没有下载按钮")
                    elif rnd.random() < download_rate:
                        if not xlsx:
                            await s.rerun(ws, f"下载{page}", [s.state(maker, trigger_value=True)], page=page)
                            xlsx = [d for d in s.downloads if "Excel" in d[0]]
                        if not xlsx:
                            s.errors.append(f"{page}：生成后没有下载按钮")
                        elif not await s.download(ws, *xlsx[0]):
                            s.errors.append(f"{page}：下载的不是 XLSX")
                    await asyncio.sleep(rnd.uniform(*think))
                await s.rerun(ws, "回到检索", [], page="智能匹配")
    except Exception as exc:  # a lost connection or a timeout is an error of the run, not a crash of the script
        s.errors.append(f"{type(exc).__name__}: {exc}"[:300])


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time a process has used so far (Linux ``/proc``; ``None`` elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="matcher-load-"))
    t0 = time.monotonic()
    db = prepare(folder, args.sessions)
    prep_s = time.monotonic() - t0
    port = free_port()
    proc = serve(db, port, folder / "streamlit.log")
    sessions = [Session(i, f"http://127.0.0.1:{port}", f"officer{i:02d}") for i in range(args.sessions)]
    writer_info: dict[str, Any] = {"import_after_s": args.minutes * 60 / 3}
    try:
        # one warm-up session loads the model and indexes (as the first officer of the day would)
        warm = Session(-1, f"http://127.0.0.1:{port}", "admin")
        await run_session(warm, f"ws://127.0.0.1:{port}/_stcore/stream", time.monotonic() + 600, 0, (0, 0), rounds=1)
        if warm.errors:
            raise RuntimeError(f"预热会话失败：{warm.errors[:3]}")
        spread = min(5.0, args.sessions * 0.25)
        cpu_before = cpu_seconds(proc.pid)
        start = time.monotonic()
        until = start + args.minutes * 60
        stop = asyncio.Event()
        jobs = [asyncio.create_task(run_session(s, f"ws://127.0.0.1:{port}/_stcore/stream", until,
                                                args.feedback_rate, (args.think_min, args.think_max),
                                                delay=spread * s.n / max(1, args.sessions),
                                                download_rate=args.download_rate))
                for s in sessions]
        writer = asyncio.create_task(writers(db, folder, stop, args.import_rows, args.batch_rows, writer_info,
                                             args.writers_nice)) \
            if args.writers else None
        loads: list[float] = []  # the machine's 1-minute load average during the run (other work on it included)

        async def sample() -> None:
            while not stop.is_set():
                loads.append(os.getloadavg()[0])
                await asyncio.sleep(15)

        sampler = asyncio.create_task(sample())
        await asyncio.gather(*jobs)
        wall = time.monotonic() - start
        stop.set()
        await sampler
        cpu_after = cpu_seconds(proc.pid)
        if writer:
            await writer
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    from matcher.store.database import Store

    store = Store(db)
    stored = {r["author"]: r["n"] for r in store.db.query("SELECT author, count(*) AS n FROM feedback GROUP BY author")}
    store.close()
    log_text = (folder / "streamlit.log").read_text(errors="replace") + \
        ((folder / "writers.log").read_text(errors="replace") if (folder / "writers.log").exists() else "")
    times = [t for s in sessions for what, t in s.times if not what.startswith("下载")]
    fetches = [t for s in sessions for what, t in s.times if what.startswith("下载")]
    by_kind: dict[str, list[float]] = {}
    for s in sessions:
        for what, t in s.times:
            by_kind.setdefault(what, []).append(t)
    lost = sum(max(0, s.marks - stored.get(f"officer{s.n:02d}", 0)) for s in sessions)
    updating = sorted(t for s in sessions for t in s.updating)  # pages answered from the older build after the import
    began = time.time() - (time.monotonic() - start)
    errors = [e for s in sessions for e in s.errors]
    result = {
        "sessions": args.sessions, "minutes": args.minutes, "wall_s": round(wall, 1), "writers": args.writers,
        "writers_nice": args.writers_nice,
        "pages": len(times), "p50_s": round(pct(times, 0.5), 3), "p95_s": round(pct(times, 0.95), 3),
        "max_s": round(max(times), 3) if times else None, "errors": len(errors),
        # the app server's own CPU (not the writers', nor the child processes it starts) per page response
        "server_cpu_s_per_page": round((cpu_after - cpu_before) / len(times), 3)
        if cpu_before is not None and cpu_after is not None and times else None,
        "downloads": len(fetches), "download_p50_s": round(pct(fetches, 0.5), 3),
        "download_p95_s": round(pct(fetches, 0.95), 3),
        "database_locked": sum("database is locked" in e for e in errors) + log_text.count("database is locked"),
        "feedback_marks": sum(s.marks for s in sessions), "feedback_stored": sum(stored.get(f"officer{s.n:02d}", 0)
                                                                                for s in sessions),
        "feedback_lost": lost, "feedback_unconfirmed": sum(s.unconfirmed for s in sessions),
        "by_page": {k: {"n": len(v), "p50_s": round(pct(v, 0.5), 3), "p95_s": round(pct(v, 0.95), 3)}
                    for k, v in sorted(by_kind.items())},
        "batch_runs": writer_info.get("batch_runs", []), "imports": writer_info.get("imports", []),
        "index_update": {"pages": len(updating), "first_s": round(updating[0] - began, 1),
                         "last_s": round(updating[-1] - began, 1)} if updating else None,
        "error_samples": errors[:20], "prepare_s": round(prep_s, 1),
        "machine": {"cpus": os.cpu_count(), "load_avg": os.getloadavg(), "python": platform.python_version(),
                    "load_1min_during": {"min": round(min(loads), 2), "mean": round(sum(loads) / len(loads), 2),
                                         "max": round(max(loads), 2)} if loads else None},
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                 text=True).stdout.strip(),
    }
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        result["folder"] = str(folder)
    return result


def main(argv: list[str] | None = None) -> None:
    """Parse the options, run, print a summary and the JSON line, save the result."""
    ap = argparse.ArgumentParser(description="多用户压测：N 个会话同时检索、匹配、导出清单，同时批量匹配与导入写库")
    ap.add_argument("--sessions", type=int, default=20, help="同时在线的会话数")
    ap.add_argument("--minutes", type=float, default=10, help="持续分钟数")
    ap.add_argument("--feedback-rate", type=float, default=0.5, help="每次检索后标记反馈的概率")
    ap.add_argument("--download-rate", type=float, default=0.5, help="打开清单页后下载 Excel 的概率")
    ap.add_argument("--think-min", type=float, default=1.0, help="两次操作之间最短停顿（秒）")
    ap.add_argument("--think-max", type=float, default=4.0, help="两次操作之间最长停顿（秒）")
    ap.add_argument("--batch-rows", type=int, default=300, help="每次批量匹配的企业数")
    ap.add_argument("--import-rows", type=int, default=2000, help="中途导入的企业数")
    ap.add_argument("--no-writers", dest="writers", action="store_false", help="不同时运行批量匹配和导入")
    ap.add_argument("--writers-nice", type=int, default=0,
                    help="批量匹配和导入以 nice -n N 运行（与应用同机的定时任务建议这样做；默认 0 不降低）")
    ap.add_argument("--keep", action="store_true", help="保留临时文件夹（数据库、日志）")
    args = ap.parse_args(argv)
    result = asyncio.run(main_async(args))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    (RESULTS / f"load-{args.sessions}x{args.minutes:g}-{stamp}.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"{result['sessions']} 个会话 × {result['minutes']:g} 分钟：{result['pages']} 次页面响应，"
          f"p50 {result['p50_s']} 秒，p95 {result['p95_s']} 秒，错误 {result['errors']}，"
          f"database is locked {result['database_locked']}，反馈 {result['feedback_marks']} 次、入库 "
          f"{result['feedback_stored']}、丢失 {result['feedback_lost']}")
    print(json.dumps({k: v for k, v in result.items() if k not in ("error_samples", "by_page", "batch_runs")},
                     ensure_ascii=False))


if __name__ == "__main__":
    main()
