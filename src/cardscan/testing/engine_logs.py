"""Read the memory figures vLLM, SGLang and llama.cpp print at start-up out of a pasted log.

Used to check the fixtures in tests/fixtures/engine_logs/ (every case's printed figures must be what its log says)
and by bench/engine_compare.py. Each regex names the engine source file that prints the line it matches; a number
printed more than once (one line per TP rank) is read from its last occurrence. Engines print GiB (2^30 bytes) even
where the text says "GB" (vLLM V0's weights line, every SGLang line); the fields below are named for what the
numbers are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ENGINES = ("vllm", "sglang", "llama.cpp")
_NUM = r"(-?[\d.]+)"
_INT = r"([\d,]+)"
# vLLM V1 pads a log line with "(EngineCore pid=…)"; the llm-d summary quotes the same sentences as markdown
# bullets ("- **Model loading took:** 13.47 GiB"), so the patterns allow "**" and ":" between label and number.
_MD = r":?\**:?\s*"


@dataclass(frozen=True)
class VllmFigures:
    """Memory figures one vLLM start-up log printed (None where the log has no such line)."""

    version: str | None
    """Engine version from the API-server banner or the engine-init line."""
    weights_gib: float | None
    """Weights resident on one GPU ("Model loading took", V0 "Loading model weights took" / "model weights take")."""
    kv_available_gib: float | None
    """Memory given to the KV cache on one GPU ("Available KV cache memory", V0 kv_cache_size)."""
    kv_tokens: int | None
    """"GPU KV cache size: N tokens" (V1)."""
    gpu_blocks: int | None
    """V0 "# GPU blocks" (tokens = blocks × block size)."""
    max_concurrency: float | None
    """"Maximum concurrency for S tokens per request: Cx"."""
    concurrency_tokens: int | None
    """S of the concurrency line (the max_model_len vLLM used)."""
    max_num_batched_tokens: int | None
    """Scheduler line "Chunked prefill is enabled with max_num_batched_tokens=T"."""
    gpu_memory_utilization: float | None
    """From the non-default args, the V0 profiling line or the "Free memory on device" line."""
    total_gpu_gib: float | None
    """Total device memory as vLLM printed it (V0 total_gpu_memory, V1 "Free memory on device (f/t GiB)")."""
    activation_gib: float | None
    """Profile-run activation peak (V0 "PyTorch activation peak memory", V1 "GiB for peak activation")."""
    non_torch_gib: float | None
    """Non-torch memory (V0 non_torch_memory, V1 "GiB for non-torch memory")."""
    cuda_graph_gib: float | None
    """CUDA-graph memory ("Graph capturing finished … took", "Estimated CUDA graph memory", "GiB for CUDAGraph")."""


@dataclass(frozen=True)
class SglangFigures:
    """Memory figures one SGLang start-up log printed."""

    avail_before_load_gib: float | None
    """"Load weight begin. avail mem=" (free memory before the weights: the total SGLang sizes against)."""
    weights_gib: float | None
    """"Load weight end … mem usage=" (weights on one GPU)."""
    avail_after_load_gib: float | None
    """"Load weight end … avail mem=" (free memory after the weights)."""
    kv_tokens: int | None
    """"KV Cache is allocated. #tokens: N" (the token pool, max_total_num_tokens)."""
    k_size_gib: float | None
    """"K size: … GB" of the same line."""
    v_size_gib: float | None
    """"V size: … GB" of the same line."""
    cuda_graph_gib: float | None
    """"Capture cuda graph end … mem usage=" (graph memory)."""
    mem_fraction_static: float | None
    """From the ServerArgs dump."""
    context_len: int | None
    """From the max_total_num_tokens line."""


@dataclass(frozen=True)
class LlamaCppFigures:
    """KV-cache figures one llama.cpp log printed."""

    kv_size_mib: float | None
    """Whole KV cache ("llama_kv_cache: size =", "KV self size =", or the MLA latent total of the MLA branch)."""
    kv_cells: int | None
    """Cells (tokens) the cache holds ("… cells" or kv_size / n_ctx)."""
    k_mib: float | None
    """K part of the size line."""
    v_mib: float | None
    """V part of the size line."""


# --- vLLM -------------------------------------------------------------------------------------------------------
# vllm/entrypoints/openai/api_server.py ("vLLM API server version %s"); vllm/v1/engine/core.py ("Initializing a V1
# LLM engine (v%s) with config"); vllm/engine/llm_engine.py in V0 ("Initializing a V0 LLM engine (v%s)").
_V_VERSION = re.compile(r"(?:API server version |LLM engine \(v)([0-9][\w.+-]*)")
# vllm/v1/worker/gpu_model_runner.py, load_model: "Model loading took %.4f GiB and %.6f seconds" (later "%.2f GiB
# memory and"); V0 vllm/worker/model_runner.py: "Loading model weights took %.4f GB" (the number is GiB).
_V_WEIGHTS = re.compile(r"(?:Model loading took|Loading model weights took)" + _MD + _NUM + r" ?Gi?B")
# vllm/worker/worker.py (V0, Dec 2024 table form): "model weights take   14.96GiB".
_V_WEIGHTS_V0 = re.compile(r"model weights take\s+" + _NUM + r"\s*GiB")
# vllm/v1/worker/gpu_worker.py, determine_available_memory: "Available KV cache memory: %.2f GiB".
_V_AVAIL = re.compile(r"Available KV cache memory" + _MD + _NUM + r" GiB")
# vllm/worker/worker.py (V0): "kv_cache_size=%.2fGiB" in "Memory profiling results", and "available_kv_cache_memory
# %.2fGiB" in the tabular form of late 2024.
_V_AVAIL_V0 = re.compile(r"(?:kv_cache_size=|available_kv_cache_memory\s+)" + _NUM + r"\s*GiB")
# vllm/v1/core/kv_cache_utils.py, _report_kv_cache_config: "GPU KV cache size: %s tokens" and "Maximum concurrency
# for %s tokens per request: %.2fx" (V0: vllm/executor/executor_base.py prints the concurrency line too).
_V_TOKENS = re.compile(r"GPU KV cache size: " + _INT + " tokens")
_V_CONC = re.compile(r"Maximum concurrency for " + _INT + r" tokens per request: " + _NUM + "x")
# V0 vllm/executor/executor_base.py (earlier gpu_executor.py): "# GPU blocks: %d, # CPU blocks: %d".
_V_BLOCKS = re.compile(r"GPU blocks: " + _INT)
# vllm/config/scheduler.py (SchedulerConfig.__post_init__): "Chunked prefill is enabled with max_num_batched_tokens=%d."
_V_T = re.compile(r"max_num_batched_tokens=(\d+)")
# vllm/entrypoints/utils.py log_non_default_args ("'gpu_memory_utilization': 0.5"), V0 worker.py
# ("gpu_memory_utilization=0.90" / "gpu_memory_utilization       0.90"), V1 gpu_worker.py ("Desired GPU memory
# utilization is (0.9, 71.26 GiB)").
_V_UTIL = re.compile(
    r"gpu[_-]memory[_-]utilization(?:'?:|=|\s+)\**:?\**\s*([\d.]+)|Desired GPU memory utilization is \(([\d.]+)"
)
# V0 worker.py: "total_gpu_memory=23.58GiB" / "total_gpu_memory     79.22GiB"; V1 gpu_worker.py: "Free memory on
# device (78.57/79.18 GiB) on startup".
_V_TOTAL = re.compile(r"total_gpu_memory[=\s]+" + _NUM + r"\s*GiB|Free memory on device" + _MD + r"\(?[\d.]+/" + _NUM)
# V0 worker.py: "PyTorch activation peak memory takes 1.42GiB" / "PyTorch activation peak memory       1.26GiB";
# V1 gpu_worker.py (compile_or_warm_up_model): "… GiB for peak activation"; the llm-d summary: "Peak activation memory:".
_V_ACT = re.compile(
    rf"activation peak memory(?: takes)?\s+{_NUM}\s*GiB|{_NUM} GiB for peak activation|Peak activation memory{_MD}{_NUM} GiB"
)
_V_NONTORCH = re.compile(
    rf"non_torch_memory(?: takes)?[=\s]+{_NUM}\s*GiB|{_NUM} GiB for non-torch memory|Non-torch memory{_MD}{_NUM} GiB"
)
# vllm/v1/worker/gpu_model_runner.py: "Graph capturing finished in %.0f secs, took %.2f GiB" (capture_model) and
# "Estimated CUDA graph memory: %.2f GiB total" (profile_cudagraph_memory, v0.19+); gpu_worker.py "… GiB for
# CUDAGraph memory"; the llm-d summary "CUDAGraph memory:".
_V_GRAPH = re.compile(
    rf"Graph capturing finished in \d+ secs, took {_NUM} GiB|Estimated CUDA graph memory: {_NUM} GiB"
    rf"|{_NUM} GiB for CUDAGraph memory|CUDAGraph memory{_MD}{_NUM} GiB"
)

# --- SGLang -----------------------------------------------------------------------------------------------------
# python/sglang/srt/model_executor/model_runner.py, load_model: "Load weight begin. avail mem=%.2f GB" and "Load weight
# end. type=%s, dtype=%s, avail mem=%.2f GB, mem usage=%.2f GB." (get_available_gpu_memory returns GiB).
_S_BEGIN = re.compile(r"Load weight begin\. avail mem=" + _NUM + " GB")
_S_END = re.compile(r"Load weight end\.[^\n]*?avail mem=" + _NUM + r" GB(?:, mem usage=" + _NUM + " GB)?")
# python/sglang/srt/mem_cache/memory_pool.py (MHATokenToKVPool): "KV Cache is allocated. #tokens: %d, K size: %.2f GB,
# V size: %.2f GB" (later versions add "dtype: …, " before #tokens).
_S_KV = re.compile(r"KV Cache is allocated\.[^\n]*?#tokens: (\d+), K size: " + _NUM + r" GB, V size: " + _NUM + " GB")
# python/sglang/srt/model_executor/model_runner.py (init_device_graphs): "Capture cuda graph end. Time elapsed: %.2f s.
# … mem usage=%.2f GB".
_S_GRAPH = re.compile(r"Capture cuda graph end\.[^\n]*?mem usage=" + _NUM + " GB")
# The ServerArgs repr logged at launch (python/sglang/srt/server_args.py) or a "--mem-fraction-static" flag.
_S_FRAC = re.compile(r"mem[_-]fraction[_-]static[= ]([\d.]+)")
# python/sglang/srt/managers/scheduler.py: "max_total_num_tokens=%d, chunked_prefill_size=%d, …, context_len=%d".
_S_CTX = re.compile(r"context_len=(\d+)")

# --- llama.cpp --------------------------------------------------------------------------------------------------
# src/llama-kv-cache.cpp (llama_kv_cache / llama_kv_cache_unified constructor): "%s: size = %7.2f MiB (%6u cells,
# %3d layers, %2u/%u seqs), K (%s): %7.2f MiB, V (%s): %7.2f MiB".
_L_SIZE = re.compile(rf"size = *{_NUM} MiB \( *(\d+) cells,[^)]*\), K \(\w+\): *{_NUM} MiB, V \(\w+\): *{_NUM} MiB")
# Older src/llama.cpp / llama-context.cpp: "KV self size  = %7.2f MiB, K (%s): %7.2f MiB, V (%s): %7.2f MiB" with
# "llama_kv_cache_init: kv_size = %u" giving the cells; the MLA branch of PR #11446 prints "KV self size = …, K^R (f16):
# … MiB, c^KV (f16): … MiB" for the latent cache (its per-head K/V line is near zero and is not the cache).
_L_SELF = re.compile(rf"KV self size *= *{_NUM} MiB, K \(\w+\): *{_NUM} MiB, V \(\w+\): *{_NUM} MiB")
_L_MLA = re.compile(rf"KV self size *= *{_NUM} MiB, K\^R \(\w+\): *{_NUM} MiB, c\^KV \(\w+\): *{_NUM} MiB")
_L_CELLS = re.compile(r"kv_size = (\d+)")


def _text(data: bytes) -> str:
    """Log bytes as text, colour codes removed."""
    return re.sub(r"\x1b\[[0-9;]*m", "", data.decode("utf-8", errors="replace"))


def _last(pattern: re.Pattern[str], text: str) -> tuple[str, ...] | None:
    """Groups of the last match (an engine repeats a line once per rank)."""
    matches = pattern.findall(text)
    if not matches:
        return None
    last = matches[-1]
    return last if isinstance(last, tuple) else (last,)


def _first(pattern: re.Pattern[str], text: str) -> float | None:
    """First non-empty group of the first match as a float (a setting is stated before lines that quote variants)."""
    match = pattern.search(text)
    value = next((g for g in match.groups() if g), None) if match else None
    return float(value) if value is not None else None


def _float(pattern: re.Pattern[str], text: str) -> float | None:
    """First non-empty group of the last match as a float (alternations leave the other groups empty)."""
    groups = _last(pattern, text)
    value = next((g for g in groups or () if g), None)
    return float(value) if value is not None else None


def _int(pattern: re.Pattern[str], text: str) -> int | None:
    groups = _last(pattern, text)
    value = next((g for g in groups or () if g), None)
    return int(value.replace(",", "")) if value is not None else None


def parse_vllm(data: bytes) -> VllmFigures:
    """vLLM V0 or V1 start-up figures from log bytes."""
    text = _text(data)
    conc = _last(_V_CONC, text)
    version = _last(_V_VERSION, text)
    return VllmFigures(
        version=version[0] if version else None,
        weights_gib=_float(_V_WEIGHTS, text) or _float(_V_WEIGHTS_V0, text),
        kv_available_gib=_float(_V_AVAIL, text) if _V_AVAIL.search(text) else _float(_V_AVAIL_V0, text),
        kv_tokens=_int(_V_TOKENS, text),
        gpu_blocks=_int(_V_BLOCKS, text),
        max_concurrency=float(conc[1]) if conc else None,
        concurrency_tokens=int(conc[0].replace(",", "")) if conc else None,
        max_num_batched_tokens=_int(_V_T, text),
        gpu_memory_utilization=_first(_V_UTIL, text),
        total_gpu_gib=_float(_V_TOTAL, text),
        activation_gib=_float(_V_ACT, text),
        non_torch_gib=_float(_V_NONTORCH, text),
        cuda_graph_gib=_float(_V_GRAPH, text),
    )


def parse_sglang(data: bytes) -> SglangFigures:
    """SGLang start-up figures from log bytes."""
    text = _text(data)
    end = _last(_S_END, text)
    kv = _last(_S_KV, text)
    return SglangFigures(
        avail_before_load_gib=_float(_S_BEGIN, text),
        weights_gib=float(end[1]) if end and end[1] else None,
        avail_after_load_gib=float(end[0]) if end else None,
        kv_tokens=int(kv[0]) if kv else None,
        k_size_gib=float(kv[1]) if kv else None,
        v_size_gib=float(kv[2]) if kv else None,
        cuda_graph_gib=_float(_S_GRAPH, text),
        mem_fraction_static=_float(_S_FRAC, text),
        context_len=_int(_S_CTX, text),
    )


def parse_llamacpp(data: bytes) -> LlamaCppFigures:
    """llama.cpp KV-cache figures from log bytes (MLA latent line preferred when the log has one)."""
    text = _text(data)
    for pattern in (_L_MLA, _L_SIZE):
        groups = _last(pattern, text)
        if groups and pattern is _L_SIZE:
            return LlamaCppFigures(float(groups[0]), int(groups[1]), float(groups[2]), float(groups[3]))
        if groups:
            return LlamaCppFigures(float(groups[0]), _int(_L_CELLS, text), float(groups[1]), float(groups[2]))
    self_size = _last(_L_SELF, text)
    if self_size:
        return LlamaCppFigures(float(self_size[0]), _int(_L_CELLS, text), float(self_size[1]), float(self_size[2]))
    return LlamaCppFigures(None, _int(_L_CELLS, text), None, None)


Figures = VllmFigures | SglangFigures | LlamaCppFigures


def parse_engine_log(data: bytes, engine: str) -> Figures:
    """The figures `engine` ("vllm", "sglang" or "llama.cpp") printed in the log `data`."""
    if engine == "vllm":
        return parse_vllm(data)
    if engine == "sglang":
        return parse_sglang(data)
    if engine == "llama.cpp":
        return parse_llamacpp(data)
    raise ValueError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}")
