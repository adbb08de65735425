"""Latent Lab's computation: datasets, autoencoders, training, checkpoints and analysis.

Nothing heavy happens at import time, and nothing here imports Streamlit.
"""

from .errors import CheckpointError, ExplorerError, TrainingDiverged

__all__ = ["CheckpointError", "ExplorerError", "TrainingDiverged"]
