"""Agents of the alliance model: what one firm is and decides."""

from agents.firm import Firm

__all__ = ["Firm"]
