"""Parsers: bytes in, values out (weight headers, quantization, config, model card)."""
