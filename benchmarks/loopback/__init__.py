"""End to end on loopback: uvicorn serving many concurrent useChat streams to a load
generator in another process. ``python -m benchmarks.loopback`` runs it; see ``run.py``."""
