"""Tsela: migration management between Lesotho and South Africa."""

__version__ = "0.1.0"
