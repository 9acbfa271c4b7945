"""Memory estimates: weights, KV cache, engines, training, GPU fit.

Public entry points: `engines.estimate_memory`, `engines.EstimateOptions`, `kv.kv_cache`, `gpus.parse_gpu`,
`gpus.fits`, `capacity.*`. Submodules are imported on demand to keep CLI start-up light.
"""
