"""Foundations shared by every layer: errors, checks, seeding, atomic I/O, configs.

Kept free of heavy imports so that ``pixelab --help`` stays fast.
"""

from pixelab._core.errors import PixelabError

__all__ = ["PixelabError"]
