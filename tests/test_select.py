from cardscan.select import select_weights
from cardscan.sources.base import Listing, RepoFile


def listing(*paths: str) -> Listing:
    return Listing("org/m", "main", "abc", tuple(RepoFile(p, 1000) for p in paths))


def test_sharded_safetensors_beats_consolidated_bin_and_original():
    sel = select_weights(
        listing(
            "config.json",
            "model-00001-of-00002.safetensors",
            "model-00002-of-00002.safetensors",
            "model.safetensors.index.json",
            "consolidated.safetensors",
            "pytorch_model-00001-of-00002.bin",
            "pytorch_model-00002-of-00002.bin",
            "original/consolidated.00.pth",
            "training_args.bin",
        )
    )
    assert sel.chosen.files == ("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors")
    assert sel.chosen.index == "model.safetensors.index.json"
    assert sel.chosen.bytes == 2000
    names = {a.name for a in sel.alternatives}
    assert names == {"consolidated", "pytorch_model", "original/consolidated"}


def test_precision_variant_is_an_alternative():
    sel = select_weights(listing("model.fp16.safetensors", "model.safetensors"))
    assert sel.chosen.files == ("model.safetensors",)
    assert [a.name for a in sel.alternatives] == ["model.fp16"]


def test_gguf_prefers_q4_k_m_and_groups_splits():
    sel = select_weights(
        listing("m-Q8_0.gguf", "m-Q4_K_M-00001-of-00002.gguf", "m-Q4_K_M-00002-of-00002.gguf", "m-Q2_K.gguf")
    )
    assert sel.chosen.name == "m-Q4_K_M" and len(sel.chosen.files) == 2
    assert len(sel.alternatives) == 2


def test_forced_file_and_no_weights():
    sel = select_weights(listing("a.gguf", "b.gguf"), forced="b.gguf")
    assert sel.chosen.files == ("b.gguf",)
    none = select_weights(listing("config.json", "model.onnx"))
    assert none.chosen is None and none.alternatives[0].format == "onnx"


def test_adapter_and_bin_only():
    assert select_weights(listing("adapter_model.safetensors", "adapter_config.json")).chosen.name == "adapter_model"
    assert select_weights(listing("pytorch_model.bin")).chosen.format == "torch"
