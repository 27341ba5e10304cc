"""The mind: on each heavy tick, gate → context → think → decide → act → after (docs/mind.md)."""
