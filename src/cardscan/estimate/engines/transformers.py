"""HF transformers `generate()`: the whole prompt prefilled at once, eager MLA cache, caching-allocator slack."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cardscan.estimate.engines.base import (
    Engine,
    EstimateOptions,
    MemoryEstimate,
    base_fields,
    cuda_context,
    finish,
    per_gpu,
    prefill_activations,
)  # fmt: skip
from cardscan.estimate.weights import TRANSFORMERS_FRAGMENTATION

if TYPE_CHECKING:  # annotations only: the engine registry and renderer table are read at CLI start-up
    from cardscan.parse.config import ArchFacts


class Transformers(Engine):
    """transformers `generate()` with a DynamicCache."""

    name = "transformers"
    summary = "HF transformers generate(): unchunked prefill, eager MLA cache, 8 % allocator slack"
    order = 30
    mla_eager = True  # transformers' DeepSeek attention caches the decompressed per-head K and V

    def memory(
        self, facts: ArchFacts, weights: int, params: int, opts: EstimateOptions, context: int
    ) -> MemoryEstimate:
        """Weights, KV, the whole prompt's activations, a CUDA context and allocator slack."""
        kv = self.kv(facts, opts, context)
        f = base_fields(self.name, facts, weights, opts, context, kv)
        act = prefill_activations(facts, context * opts.batch, opts.batch)  # generate() prefills the whole prompt
        w = per_gpu(weights, opts.tp)
        slack = int(TRANSFORMERS_FRAGMENTATION * (w + kv.total_bytes + act))
        f |= {"weights_bytes": w, "activations_bytes": act, "overhead_bytes": cuda_context() + slack}
        f["notes"].append("transformers generate: unchunked prefill, last-token logits, 8 % allocator slack")
        return finish(f)


ENGINE = Transformers()
