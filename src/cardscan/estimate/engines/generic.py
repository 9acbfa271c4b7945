"""generic: the first screen — weights + KV + chunked-prefill activations + a CUDA context, no engine specifics."""

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

if TYPE_CHECKING:  # annotations only: the engine registry and renderer table are read at CLI start-up
    from cardscan.parse.config import ArchFacts


PREFILL_CHUNK = 512  # prefill processed in chunks of this many tokens (llama.cpp's n_ubatch default)


class Generic(Engine):
    """No engine's own rules: what any runtime needs at least."""

    name = "generic"
    summary = "weights + KV + prefill activations + CUDA context (any runtime)"
    order = 0

    def memory(
        self, facts: ArchFacts, weights: int, params: int, opts: EstimateOptions, context: int
    ) -> MemoryEstimate:
        """Weights split over TP, KV, one prefill chunk of activations, one CUDA context."""
        kv = self.kv(facts, opts, context)
        f = base_fields(self.name, facts, weights, opts, context, kv)
        tokens = min(context, PREFILL_CHUNK)
        f |= {"weights_bytes": per_gpu(weights, opts.tp), "activations_bytes": prefill_activations(facts, tokens, 1)}
        f["overhead_bytes"] = cuda_context()
        f["notes"].append(f"generic: weights + KV + {tokens}-token prefill activations + 500 MiB CUDA context")
        return finish(f)


ENGINE = Generic()
