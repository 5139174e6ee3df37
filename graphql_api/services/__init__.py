"""Use cases: each owns its transaction and calls the domain rules and the db statements."""
