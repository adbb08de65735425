import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

torch.set_num_threads(2)


@pytest.fixture
def tiny_images():
    """16 random 8x8 images in [0, 1], seeded."""
    return torch.rand(16, 1, 8, 8, generator=torch.Generator().manual_seed(0))
