"""Fixtures running the platform simulator over real HTTP (filled in by the simulator work)."""
