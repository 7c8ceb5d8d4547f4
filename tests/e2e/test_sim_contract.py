"""The contract check itself, without a bot: what Discord's description (plus Discord's own
runtime rules) accepts and refuses, and how a refusal reads."""

from __future__ import annotations

import pytest

from tests.sim.contract import Contract

CALLBACK = "/interactions/1/token/callback"


@pytest.fixture(scope="module")
def contract() -> Contract:
    return Contract()


def test_a_concrete_path_maps_to_its_template_literal_segments_first(contract: Contract) -> None:
    messages = contract.operation("POST", "/channels/123/messages")
    own_reaction = contract.operation("PUT", "/channels/1/messages/2/reactions/%F0%9F%91%8D/@me")
    original = contract.operation("PATCH", "/webhooks/1/token/messages/@original")
    assert messages is not None and messages.template == "/channels/{channel_id}/messages"
    assert own_reaction is not None and own_reaction.template.endswith("/{emoji_name}/@me")
    assert original is not None and original.template.endswith("/messages/@original")
    assert contract.check("GET", "/no/such/route", None)[0].reason == "no such operation in Discord's API description"


def test_a_valid_message_passes(contract: Contract) -> None:
    body = {"content": "hi", "embeds": [{"title": "t", "fields": [{"name": "n", "value": "v"}]}], "allowed_mentions": {"parse": []}}
    assert contract.check("POST", "/channels/1/messages", body) == []


def test_a_union_failure_is_reported_inside_the_branch_that_was_meant(contract: Contract) -> None:
    body = {"type": 4, "data": {"embeds": [{"fields": [{"name": "a", "value": "v" * 1025}]}]}}
    [violation] = contract.check("POST", CALLBACK, body)
    assert violation.where == "$.data.embeds[0].fields[0].value"
    assert violation.reason == "1025 characters; at most 1024 allowed"


def test_rules_the_description_leaves_out(contract: Contract) -> None:
    too_much_embed = {"type": 4, "data": {"embeds": [{"description": "d" * 4000}, {"description": "d" * 2001}]}}
    six_rows = {"content": "x", "components": [{"type": 1, "components": [{"type": 2, "style": 1, "label": "b", "custom_id": f"c{n}"}]} for n in range(6)]}
    [embeds] = contract.check("POST", CALLBACK, too_much_embed)
    [rows] = contract.check("POST", "/channels/1/messages", six_rows)
    assert "6001 characters" in embeds.reason
    assert rows.where == "$.components" and "6 action rows" in rows.reason


def _section(text: str) -> dict:
    return {"type": 9, "components": [{"type": 10, "content": text}],
            "accessory": {"type": 11, "media": {"url": "https://cdn.discordapp.com/embed/avatars/0.png"}}}


def test_a_layout_message_is_checked_against_the_components_v2_limits(contract: Contract) -> None:
    def layout(*children: dict, **extra: object) -> dict:
        return {"flags": 1 << 15, "components": [{"type": 17, "components": list(children)}], **extra}

    board = layout({"type": 10, "content": "## Report-back"}, *(_section(f"member {n}") for n in range(12)))
    assert contract.check("POST", "/channels/1/messages", board) == []  # 2 + 3 × 12 = 38 components
    [count] = contract.check("POST", "/channels/1/messages", layout(*(_section("m") for n in range(14))))
    assert count.where == "$.components" and "43 components in all; at most 40" in count.reason
    [text] = contract.check("POST", "/channels/1/messages", layout(_section("t" * 2001), _section("t" * 2000)))
    assert "4001 characters of text display" in text.reason
    [content] = contract.check("POST", "/channels/1/messages", layout(_section("m"), content="hello"))
    assert content.where == "$.content" and "components-v2" in content.reason
    [legacy] = contract.check("POST", "/channels/1/messages", {"components": [_section("m")]})
    assert "only action rows may be top-level" in legacy.reason  # a section without the flag


def test_integer_snowflakes_are_accepted_in_requests_as_discord_does(contract: Contract) -> None:
    assert contract.check("POST", "/users/@me/channels", {"recipient_id": 1234567890123456789}) == []
    assert contract.check("POST", "/users/@me/channels", {"recipient_id": "12x"}) != []
    assert contract.check("POST", "/users/@me/channels", {"recipient_id": -1}) != []


def test_a_modal_with_labels_is_not_mistaken_for_message_components(contract: Contract) -> None:
    modal = {
        "type": 9,
        "data": {
            "custom_id": "m",
            "title": "T",
            "components": [{"type": 18, "label": "Note", "component": {"type": 4, "custom_id": "n", "style": 1}}],
        },
    }
    assert contract.check("POST", CALLBACK, modal) == []
