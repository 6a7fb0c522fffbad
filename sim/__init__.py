"""Simulation of microenterprise alliances: the model, its parameters and its processes."""

from sim.config import check, load_config
from sim.model import AllianceModel
from sim.schema import ConfigError

__all__ = ["AllianceModel", "ConfigError", "check", "load_config"]
