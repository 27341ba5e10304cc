"""The ``being`` subcommands, one module each; each exposes ``register(subparsers)``."""
