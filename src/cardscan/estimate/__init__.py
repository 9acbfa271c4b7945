"""Memory estimates: weights, KV cache, engines, training, GPU fit."""
