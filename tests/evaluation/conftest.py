"""The attack tests' fixtures (tiny trained CNN, smooth synthetic images), shared here."""

from tests.attacks.conftest import batch, one_thread, tiny_model  # noqa: F401
