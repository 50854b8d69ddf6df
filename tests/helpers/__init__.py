"""Helpers shared by test modules. Test modules import from here, from tests.factories or
from fixtures in a conftest, never from one another (tests/test_layout.py checks it)."""
