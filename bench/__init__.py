"""Benchmarks: scripts that measure the models against published numbers (`python -m bench.<name>`)."""
