"""Renderers: results in, text out (table, json, csv, markdown, html)."""
