"""One tool's run for bench/peers.py, in a fresh process: stdlib imports only at the top, so each tool's cold start
is its own (the parent's emulator and table code never load here).

Run by peers.py: python bench/peers_child.py TOOL ENDPOINT WORKERS [--profile FILE] REPO...
Prints one JSON line: wall of the work, per-repo totals, CPU seconds, peak RSS (KB); wall is also measured by the
parent around the whole process.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable

TOKEN = "hf_approved"


def child(tool: str, endpoint: str, repos: list[str], workers: int, *, own_process: bool = True) -> dict:
    """Run one tool over `repos` in this process: wall of the work, per-repo totals, CPU, peak RSS."""
    start = time.perf_counter()
    if tool == "cardscan":
        totals = _cardscan(endpoint, repos, workers, lambda totals: _measure(start, totals), own_process=own_process)
    else:
        totals = {"huggingface_hub": _hf_hub, "hf-mem": _hf_mem}[tool](endpoint, repos, workers)
    return _measure(start, totals)


def _measure(start: float, totals: dict[str, int | None]) -> dict:
    import resource

    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"wall": wall, "totals": totals, "cpu": usage.ru_utime + usage.ru_stime, "rss_kb": usage.ru_maxrss}


def _cardscan(
    endpoint: str, repos: list[str], workers: int, report: Callable[[dict], dict], *, own_process: bool
) -> dict[str, int | None]:
    """The real CLI, as a user runs it (`cardscan scan … --format json -o FILE`), in this process. As the console
    script, a finished scan ends the process from inside (after the atexit hooks): the figures are printed by one."""
    from cardscan.cli import app, run

    os.environ.update(HF_ENDPOINT=endpoint, HF_TOKEN=TOKEN)
    tmp = tempfile.mkdtemp()
    out = os.path.join(tmp, "out.json")
    printed: list[bool] = []

    def totals() -> dict[str, int | None]:
        with open(out) as fh:
            results = json.load(fh)
        shutil.rmtree(tmp, ignore_errors=True)
        return {r["input"]: (r.get("parameters") or {}).get("total") if r["status"] == "ok" else None for r in results}

    def at_exit() -> None:
        if not printed and os.path.exists(out):
            printed.append(True)
            print(json.dumps(report(totals())), flush=True)

    sys.argv = ["cardscan", "scan", *repos, "--workers", str(workers), "--format", "json", "-o", out]
    if own_process:
        atexit.register(at_exit)
    try:
        (run if own_process else app)()  # `app` (under the profiler) ends with SystemExit instead of leaving
    except SystemExit as stop:
        if stop.code not in (0, None):
            raise RuntimeError(f"cardscan exited {stop.code}") from None
    printed.append(True)
    return totals()


def _hf_hub(endpoint: str, repos: list[str], workers: int) -> dict[str, int | None]:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=endpoint, token=TOKEN)
    out: dict[str, int | None] = {}
    for repo in repos:
        api.model_info(repo)
        meta = api.get_safetensors_metadata(repo)
        out[repo] = sum(meta.parameter_count.values())
    return out


def _hf_mem(endpoint: str, repos: list[str], workers: int) -> dict[str, int | None]:
    """hf-mem hard-codes https://huggingface.co: its httpx2 transport is swapped for one that goes to the emulator."""
    import httpx2
    from hf_mem.run import run

    host, port = endpoint.removeprefix("http://").split(":")

    class ToEmulator(httpx2.AsyncHTTPTransport):
        async def handle_async_request(self, request):  # type: ignore[no-untyped-def]
            if request.url.host == "huggingface.co":
                request.url = request.url.copy_with(scheme="http", host=host, port=int(port))
            return await super().handle_async_request(request)

    original = httpx2.AsyncClient.__init__

    def patched(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs["transport"] = ToEmulator(http2=False)
        original(self, *args, **kwargs)

    httpx2.AsyncClient.__init__ = patched  # type: ignore[method-assign]
    out: dict[str, int | None] = {}
    for repo in repos:
        result = run(repo, hf_token=TOKEN)
        out[repo] = getattr(result.safetensors, "param_count", None)
    return out


# Where CPU goes, by the file a function lives in (own time, every thread).
STAGES = (
    ("cardscan sources (http, hub, ratelimit)", "cardscan/sources/"),
    ("cardscan fetch + select", ("cardscan/fetch.py", "cardscan/select.py")),
    ("cardscan parse", "cardscan/parse/"),
    ("cardscan interpret + kinds + tensors", ("cardscan/interpret.py", "cardscan/kinds.py", "cardscan/tensors.py")),
    ("cardscan estimate", "cardscan/estimate/"),
    ("cardscan scanner + result", ("cardscan/scanner.py", "cardscan/result.py")),
    ("cardscan cli + render", ("cardscan/cli.py", "cardscan/render/")),
    ("requests", "/requests/"),
    ("urllib3", "/urllib3/"),
    (
        "http.client + socket + ssl",
        (
            "http/client.py",
            "socket.py",
            "ssl.py",
            "email/",
            "{method 'recv",
            "{method 'send",
            "{method 'sendall",
            "{method 'connect",
            "{method 'recv_into",
        ),
    ),
    ("json", ("json/", "{method 'decode' of", "scanstring")),
    ("threads, locks, queues", ("threading.py", "concurrent/futures", "queue.py", "{method 'acquire'")),
    ("import machinery", ("<frozen", "importlib", "{built-in method builtins.compile", "marshal")),
)


def profiled(tool: str, endpoint: str, repos: list[str], workers: int, path: str) -> dict:
    """Run the child under one cProfile per thread (threading.setprofile), merge, write the top functions and a
    per-stage summary of own CPU time to `path`."""
    import cProfile
    import pstats
    import threading

    profiles: list[cProfile.Profile] = []

    def start(*_: object) -> None:
        prof = cProfile.Profile(time.thread_time)  # CPU of this thread only: waits and GIL queueing excluded
        profiles.append(prof)
        prof.enable()  # replaces this hook for the rest of the thread

    threading.setprofile(start)
    main_prof = cProfile.Profile(time.thread_time)
    out = main_prof.runcall(child, tool, endpoint, repos, workers, own_process=False)
    threading.setprofile(None)
    for prof in profiles:
        prof.disable()
    stats = pstats.Stats(main_prof)
    for prof in profiles:
        stats.add(prof)
    stages: dict[str, float] = {}

    def stage(file: str, func: str) -> str:
        where = f"{file}:{func}"
        return next((n for n, keys in STAGES if any(k in where for k in ((keys,) if isinstance(keys, str) else keys))),
                    "other")  # fmt: skip

    for (file, _line, func), (_, _, own, _, callers) in stats.stats.items():  # type: ignore[attr-defined]
        if file == "~" and callers and stage(file, func) == "other":
            # A C builtin (any, isinstance, str methods…): charge its time to the stages of its callers.
            total = sum(c[2] for c in callers.values()) or 1.0
            for (cfile, _cl, cfunc), c in callers.items():
                name = stage(cfile, cfunc)
                stages[name] = stages.get(name, 0.0) + own * c[2] / total
            continue
        name = stage(file, func)
        stages[name] = stages.get(name, 0.0) + own
    with open(path, "w") as fh:
        fh.write("Own CPU time by stage (s, summed over all threads, per-thread CPU clock):\n")
        for name, own in sorted(stages.items(), key=lambda kv: -kv[1]):
            fh.write(f"  {own:8.3f}  {name}\n")
        fh.write("\n")
        stats.stream = fh  # type: ignore[attr-defined]
        stats.sort_stats("tottime").print_stats(45)
    out["stages"] = stages
    return out


def main() -> None:
    args = sys.argv[1:]
    profile = None
    if "--profile" in args:
        i = args.index("--profile")
        profile = args[i + 1]
        del args[i : i + 2]
    tool, endpoint, workers, *repos = args
    out = (
        profiled(tool, endpoint, repos, int(workers), profile)
        if profile
        else child(tool, endpoint, repos, int(workers))
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
