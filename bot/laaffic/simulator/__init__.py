"""An in-memory Laaffic platform: the users' sandbox and the test double of our platform client.

It follows the platform's documentation (/work/shared/platform-api.md), not our client.
"""

from bot.laaffic.simulator.app import FaultKind, Simulator
from bot.laaffic.simulator.config import SimulatorConfig

__all__ = ["FaultKind", "Simulator", "SimulatorConfig"]
