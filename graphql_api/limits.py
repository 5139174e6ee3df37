"""The query limits of the contract, checked before anything runs."""

MAX_DEPTH = 10
MAX_ALIASES = 20
MAX_TOKENS = 2000
