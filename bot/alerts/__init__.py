"""Call-centre alerts: rules a team chat sets (`rules`), evaluated where the data is written (the
relay's transaction: `relay`) or by the scheduler's leader for time-based rules (`checks`); each
alert is an episode row (`episodes`), exactly once across restarts and replicas."""
