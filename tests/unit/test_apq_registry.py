"""The APQ registry keeps the most recently used documents, within a count and a size."""

from __future__ import annotations

from graphql_api.persisted_operations import ApqRegistry


def test_the_least_recently_used_document_goes_first_past_the_count():
    # given a registry of three, each document used once, the first used again
    registry = ApqRegistry(max_documents=3, max_characters=1000)
    for name in ("a", "b", "c"):
        registry.register(name, f"{{ {name} }}")
    assert registry.get("a") == "{ a }"
    # when a fourth is registered
    registry.register("d", "{ d }")
    # then the least recently used one (b) is forgotten
    assert (registry.get("a"), registry.get("b"), registry.get("c")) == ("{ a }", None, "{ c }")
    assert registry.get("d") == "{ d }"
    assert len(registry) == 3


def test_the_size_in_characters_is_bounded_too():
    # given room for 10 characters
    registry = ApqRegistry(max_documents=100, max_characters=10)
    registry.register("a", "12345")
    registry.register("b", "12345")
    # when one more character would not fit
    registry.register("c", "1")
    # then the oldest goes, and the total stays within the bound
    assert registry.get("a") is None
    assert registry.characters == 6
    # and a document larger than the whole budget is not kept at all
    registry.register("big", "x" * 11)
    assert registry.get("big") is None
    assert (registry.get("b"), registry.get("c")) == ("12345", "1")


def test_registering_a_known_hash_again_changes_nothing():
    registry = ApqRegistry(max_documents=2, max_characters=100)
    registry.register("a", "{ a }")
    registry.register("a", "{ a }")
    assert len(registry) == 1
    assert registry.characters == len("{ a }")
