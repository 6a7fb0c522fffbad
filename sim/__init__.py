"""Simulation of microenterprise alliances: the model, its parameters and its processes."""

from sim.config import load_config
from sim.model import AllianceModel
from sim.params import ConfigError

__all__ = ["AllianceModel", "ConfigError", "load_config"]
