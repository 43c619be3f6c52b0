"""Fixtures: a tiny trained CNN and 16 smooth synthetic images it classifies."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from tests.attacks.tiny import TinyCNN, synthetic_images, trained_tiny_cnn


@pytest.fixture(scope="session", autouse=True)
def one_thread() -> Iterator[None]:
    """One torch thread: the CPUs here are shared, and tiny models gain nothing from two."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_model() -> TinyCNN:
    return trained_tiny_cnn()


@pytest.fixture(scope="session")
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` (16, 3, 12, 12) in [0, 1], ``y`` (16,) int64."""
    return synthetic_images(16, seed=2)
