"""Each extension point is one place: register a fake GPU, output format, quantization format, engine and source,
and the real pipeline uses it without any other change."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import replace

import pytest

from cardscan import render
from cardscan.estimate import engines, gpus
from cardscan.estimate.engines.base import Engine, EstimateOptions, MemoryEstimate, base_fields, finish
from cardscan.options import ScanOptions
from cardscan.parse import quant_formats
from cardscan.parse.config import ArchFacts
from cardscan.scanner import _scan_listing, scan
from cardscan.sources import registry
from cardscan.sources.memory import MemorySource
from cardscan.units import GIB
from tests.st_builder import header_bytes

LLAMA_CONFIG = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
    "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 2, "vocab_size": 100,
    "max_position_embeddings": 256, "torch_dtype": "bfloat16",
}  # fmt: skip
FILES = {
    "config.json": json.dumps(LLAMA_CONFIG).encode(),
    "model.safetensors": header_bytes({"model.embed_tokens.weight": ("BF16", [100, 64])}),
}


@pytest.fixture
def memory_source() -> Iterator[None]:
    """A source kind claiming `mem://` inputs, registered first and removed afterwards."""
    kind = registry.SourceKind(
        "memory", lambda target, options: target.startswith("mem://"),
        lambda target, options, session: (MemorySource(FILES), target, "main"),
    )  # fmt: skip
    registry.register(kind)
    yield
    registry.SOURCES.remove(kind)


def test_a_registered_source_reads_its_inputs(memory_source: None) -> None:
    r = scan("mem://tiny")
    assert r.ok, r.error
    assert r.parameters is not None and r.parameters.total == 6400


def test_a_registered_gpu_is_a_gpu_choice(memory_source: None) -> None:
    fake = gpus.register(gpus.Gpu("Fake 7GB", 7 * GIB, 7 * GIB, "custom", "custom", ("fake7",), "user", ("matrix",)))
    try:
        assert gpus.parse_gpu("fake7") is fake
        r = scan("mem://tiny", ScanOptions(gpu="fake7"))
        assert r.capacity is not None and r.capacity.gpu == "Fake 7GB"
        assert fake in gpus.display_set("matrix")
    finally:
        gpus._EXTRA.remove(fake)
        gpus._index.cache_clear()


def test_a_registered_output_format_renders_results(memory_source: None) -> None:
    render.register("names", lambda results: "\n".join(r.input for r in results))
    try:
        assert render.render([scan("mem://tiny")], "names") == "mem://tiny"
    finally:
        del render.FORMATS["names"], render._REGISTERED["names"]


class _Fake(Engine):
    name = "fake-engine"
    summary = "weights only, half the GPU"

    def budget(self, gpu: gpus.Gpu, gpu_util: float) -> int:
        return gpu.usable_bytes // 2

    def memory(
        self, facts: ArchFacts, weights: int, params: int, opts: EstimateOptions, context: int
    ) -> MemoryEstimate:
        f = base_fields(self.name, facts, weights, opts, context, self.kv(facts, opts, context))
        f |= {"weights_bytes": weights, "kv_cache_bytes": 0, "activations_bytes": 0, "overhead_bytes": 1}
        return finish(f)


def test_a_registered_engine_is_an_engine_choice(memory_source: None) -> None:
    engines.register(_Fake())
    try:
        r = scan("mem://tiny", ScanOptions(engine="fake-engine", gpu="rtx4090"))
        assert r.memory is not None and r.memory.engine == "fake-engine"
        assert r.memory.total_bytes == 6400 * 2 + 1
        assert r.fits[0].free_bytes == r.fits[0].gpu.usable_bytes // 2 - r.memory.total_bytes  # its own budget
    finally:
        del engines.ENGINES["fake-engine"]
    with pytest.raises(ValueError, match="engine"):
        ScanOptions(engine="fake-engine")


def test_a_quant_format_row_brings_its_side_file_and_aliases() -> None:
    """A new row is recognised from its side file (fetch reads it because the row names it) and its alias."""
    row = quant_formats.QuantFormat(
        "fakeq", (), (".fake_scale",), (".fake_scale",), aliases=("fake-q",), config={"bits": ("wbits",)},
        side_files=("fakeq_config.json",),
    )  # fmt: skip
    saved = _quant_tables()
    quant_formats.register(row)
    try:
        files = {**FILES, "fakeq_config.json": json.dumps({"quant_method": "fake-q", "wbits": 3}).encode()}
        source = MemorySource(files)
        r = _scan_listing(source, source.listing(), "memory/model", ScanOptions(), None, depth=1)
        assert r.quantization is not None and r.quantization.method == "fakeq" and r.quantization.bits == 3
    finally:
        _restore(saved)


def _quant_tables() -> dict[str, object]:
    names = ("FORMATS", "FORMATS_BY_METHOD", "METHOD_ALIASES", "CONFIG_KEYS", "SIDE_FILE_FORMATS", "QUANT_SIDE_FILES",
             "QUANT_MARKER_FILES")  # fmt: skip
    return {n: copy.copy(getattr(quant_formats, n)) for n in names}


def _restore(saved: dict[str, object]) -> None:
    for name, value in saved.items():
        table = getattr(quant_formats, name)
        table.clear()
        table.update(value) if isinstance(table, dict) else table.extend(value)  # type: ignore[arg-type]


def test_engine_choices_come_from_the_registry() -> None:
    from cardscan import cli

    assert [e.value for e in cli.Engine] == list(engines.ENGINES)
    assert list(engines.ENGINES)[:4] == ["generic", "vllm", "llama.cpp", "transformers"]


def test_options_are_validated_when_built() -> None:
    for bad in ({"context": 0}, {"context": 10**12}, {"tp": 1_000_000}, {"batch": 2**63}, {"gpu": "0GB"},
                {"mode": "qlor"}, {"lora_rank": 10**12}, {"kv_dtype": "fp7"}, {"revision": ""}):  # fmt: skip
        with pytest.raises(ValueError, match=next(iter(bad))):
            ScanOptions(**bad)
    assert replace(ScanOptions(), context=4096).context == 4096
