"""The curriculum format: the default year, YAML and Markdown import, errors that name line and field."""

from __future__ import annotations

import pytest

from bot import curriculum
from bot.curriculum import Curriculum, CurriculumError, parse, parse_markdown, parse_yaml, to_yaml
from bot.errors import InvalidInput

GOOD_YAML = """\
modules:
  - number: 1
    title: Vision and goals
    summary: Decide where the business is going.
    activities:
      - Write a one-page vision.
    resources:
      - title: SMART criteria
        url: https://en.wikipedia.org/wiki/SMART_criteria
        kind: read
  - number: 2
    title: Money
    summary: >-
      Know your numbers.
    resources:
      - title: Cash flow
        url: https://en.wikipedia.org/wiki/Cash_flow
        kind: listen
"""

GOOD_MARKDOWN = """\
# Our year

## 1. Vision and goals
Decide where the business
is going.

And say it out loud.

### Activities
- Write a one-page vision.
- Set three goals.

### Resources
- [SMART criteria](https://en.wikipedia.org/wiki/SMART_criteria) (read)
- [A talk](https://www.ted.com/talks/simon_sinek_how_great_leaders_inspire_action) (watch)

## 2. Money
Know your numbers.
"""


def problems(error: pytest.ExceptionInfo[CurriculumError]) -> list[str]:
    return [str(problem) for problem in error.value.problems]


def test_default_year_loads_with_twelve_real_modules() -> None:
    year = curriculum.load_default()
    assert [module.number for module in year.modules] == list(range(1, 13))
    titles = " ".join(module.title.lower() for module in year.modules)
    for topic in ("vision", "kpi", "money", "pricing", "marketing", "sales", "customers", "systems",
                  "digital", "wellbeing", "next"):
        assert topic in titles
    for module in year.modules:
        assert len(module.summary) > 200
        assert len(module.activities) >= 3
        assert module.resources and all(r.url.startswith("https://") for r in module.resources)


def test_yaml_round_trips_through_export() -> None:
    year = curriculum.load_default()
    assert parse_yaml(to_yaml(year.modules)) == Curriculum(modules=year.sorted())


def test_good_yaml_parses() -> None:
    parsed = parse(GOOD_YAML.encode(), "year.yml")
    assert [m.title for m in parsed.modules] == ["Vision and goals", "Money"]
    assert parsed.modules[1].resources[0].kind == "listen"
    assert parsed.modules[1].activities == []


def test_bare_list_yaml_parses() -> None:
    parsed = parse_yaml("- {number: 3, title: Pricing, summary: Charge what you're worth.}\n")
    assert parsed.modules[0].number == 3


def test_good_markdown_parses() -> None:
    parsed = parse(GOOD_MARKDOWN.encode(), "year.md")
    first, second = parsed.modules
    assert (first.number, first.title) == (1, "Vision and goals")
    assert first.summary == "Decide where the business is going.\n\nAnd say it out loud."
    assert first.activities == ["Write a one-page vision.", "Set three goals."]
    assert [(r.title, r.kind) for r in first.resources] == [("SMART criteria", "read"), ("A talk", "watch")]
    assert (second.title, second.summary) == ("Money", "Know your numbers.")


def test_markdown_and_yaml_agree() -> None:
    exported = to_yaml(parse_markdown(GOOD_MARKDOWN).modules)
    assert parse_yaml(exported) == parse_markdown(GOOD_MARKDOWN)


def test_yaml_errors_name_line_and_field() -> None:
    broken = GOOD_YAML.replace("    title: Vision and goals\n", "").replace(
        "url: https://en.wikipedia.org/wiki/Cash_flow", "url: ftp://example.com/x"
    ).replace("kind: listen", "kind: podcast")
    with pytest.raises(CurriculumError) as error:
        parse_yaml(broken, "year.yaml")
    assert problems(error) == [
        "line 2, module 1, title: missing",
        "line 16, module 2, resource 1, url: must be a web link starting with http:// or https://",
        "line 17, module 2, resource 1, kind: unknown kind `podcast` (use read, watch, listen)",
    ]
    assert "nothing was changed" in error.value.message
    assert "line 16" in error.value.message


def test_yaml_syntax_error_names_the_line() -> None:
    with pytest.raises(CurriculumError) as error:
        parse_yaml("modules:\n  - number: 1\n    title: [unclosed\n")
    assert error.value.problems[0].line is not None
    assert "not valid YAML" in problems(error)[0]


def test_markdown_errors_name_line_and_field() -> None:
    broken = (
        GOOD_MARKDOWN.replace("(https://en.wikipedia.org/wiki/SMART_criteria)", "(en.wikipedia.org/wiki/SMART)")
        .replace("(watch)", "(podcast)")
        .replace("## 2. Money", "## 2.")
    )
    with pytest.raises(CurriculumError) as error:
        parse_markdown(broken)
    assert problems(error) == [
        "line 14, module 1, resource 1, url: must be a web link starting with http:// or https://",
        "line 15, module 1, resource 2, kind: unknown kind `podcast` (use read, watch, listen)",
        "line 17, module 2, title: empty",
    ]


def test_markdown_structure_errors() -> None:
    text = "Intro text\n## Vision\nSummary\n### Homework\n- x\n### Resources\n- just a title\n"
    with pytest.raises(CurriculumError) as error:
        parse_markdown(text)
    lines = [(p.line, p.field) for p in error.value.problems]
    assert (1, "") in lines  # text before the first module
    assert (2, "heading") in lines  # no number
    assert (4, "heading") in lines  # unknown sub-heading
    assert (7, "resource") in lines  # not a link


def test_too_many_modules_and_duplicates() -> None:
    many = "".join(f"## {n}. Module {n}\nSummary {n}.\n" for n in range(1, 26))
    with pytest.raises(CurriculumError) as error:
        parse_markdown(many)
    assert any("more than 24" in p for p in problems(error))
    with pytest.raises(CurriculumError) as error:
        parse_yaml("modules:\n- {number: 1, title: a, summary: b}\n- {number: 1, title: c, summary: d}\n")
    assert problems(error) == ["line 3, module 1, number: used twice (also on line 2)"]


def test_length_limits() -> None:
    long_title = "x" * 101
    with pytest.raises(CurriculumError) as error:
        parse_markdown(f"## 1. {long_title}\n{'s' * 1001}\n### Activities\n- {'a' * 201}\n")
    assert problems(error) == [
        "line 1, module 1, title: longer than 100 characters",
        "line 2, module 1, summary: longer than 1000 characters",
        "line 4, module 1, activity 1: longer than 200 characters",
    ]


def test_file_type_size_and_encoding() -> None:
    with pytest.raises(InvalidInput, match="YAML"):
        parse(b"modules: []", "year.txt")
    with pytest.raises(CurriculumError, match="larger than 256 KB"):
        parse(b"#" * (256 * 1024 + 1), "year.md")
    with pytest.raises(CurriculumError, match="UTF-8"):
        parse("## 1. Café\n".encode("latin-1"), "year.md")
    with pytest.raises(CurriculumError, match="no modules"):
        parse(b"# Only a title\n", "year.md")
    with pytest.raises(CurriculumError, match="no modules"):
        parse(b"modules: []\n", "year.yaml")


def test_error_message_fits_in_a_discord_message() -> None:
    many = "".join(f"## {n}. \n" for n in range(1, 25))
    with pytest.raises(CurriculumError) as error:
        parse_markdown(many)
    assert len(error.value.problems) == 48  # each module: an empty title and an empty summary
    assert "…and 38 more." in error.value.message
    assert len(error.value.message) < 2000


# --- hostile files (issue 19): a clear refusal that always fits, never an internal error ---------


@pytest.mark.parametrize(("data", "filename", "line", "char"), [
    (b"modules:\n  - number: 1\n    title: A\x00B\n    summary: x\n", "nul.yaml", 3, "U+0000"),
    (b"modules:\n  - number: 1\n    title: Bell\x07\n    summary: x\n", "bell.yaml", 3, "U+0007"),
    ("modules:\n  - number: 1\n    title: Nel\u0085\n    summary: x\n".encode(), "nel.yml", 3, "U+0085"),
    (b"## 1. Vision\nA summary\x1b[31m in red.\n", "escape.md", 2, "U+001B"),
    (b"## 1. Vision\x00\nSummary.\n", "nul.md", 1, "U+0000"),
])
def test_a_control_character_is_refused_with_its_line(data: bytes, filename: str, line: int, char: str) -> None:
    with pytest.raises(CurriculumError) as error:
        parse(data, filename)
    assert problems(error) == [f"line {line}: a control character ({char}): remove it"]


@pytest.mark.parametrize("data", [
    b"modules: " + b"[" * 5000 + b"]" * 5000 + b"\n",
    b"modules: " + b"{a: " * 5000 + b"1" + b"}" * 5000 + b"\n",
    b"modules:\n" + b"".join(b"  " * depth + b"- \n" for depth in range(1, 400)),
    b"- " * 3000 + b"x\n",
])
def test_deeply_nested_yaml_is_refused_not_a_recursion_error(data: bytes) -> None:
    with pytest.raises(CurriculumError, match="nested more than 8 deep"):
        parse(data, "deep.yaml")


def test_yaml_aliases_are_refused_so_nothing_can_multiply() -> None:
    laughs = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n" for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
    )
    with pytest.raises(CurriculumError, match="anchors and aliases"):
        parse(("modules:\n- number: 1\n  title: t\n  summary: s\n" + laughs).encode(), "laughs.yaml")


def test_many_long_unknown_keys_give_a_short_answer() -> None:
    keys = "".join(f"    {'k' * 300}{n}: 1\n" for n in range(200))
    data = f"modules:\n  - number: 1\n    title: A\n    summary: x\n{keys}".encode()
    with pytest.raises(CurriculumError) as error:
        parse(data, "keys-" + "n" * 300 + ".yaml")
    message = error.value.message
    assert len(error.value.problems) == 200
    assert len(message) <= 1900
    assert "unknown field" in message
    assert message.rstrip().endswith("more.")
    assert "…and 190 more." in message


def test_a_long_yaml_error_is_shortened() -> None:
    with pytest.raises(CurriculumError) as error:
        parse(("modules:\n  - number: 1\n    title: [" + "x, " * 3000 + "\n").encode(), "broken.yaml")
    assert len(error.value.message) < 500


def test_the_error_renderer_never_sends_more_than_discord_takes() -> None:
    from bot.ui.errors import MESSAGE_LIMIT, fit_message

    assert fit_message("short") == "short"
    for text in ("x" * 5000, "line\n" * 1000, "```\n" + "code line\n" * 400, "🙂" * 1500):
        fitted = fit_message(text)
        assert len(fitted.encode("utf-16-le")) // 2 <= MESSAGE_LIMIT
        assert fitted.endswith("…")
        assert fitted.count("```") % 2 == 0
    assert fit_message("line\n" * 1000).removesuffix("\n…").endswith("line")  # cut at a line break


async def test_render_error_shortens_any_user_error() -> None:
    from bot.ui.errors import MESSAGE_LIMIT, render_error

    sent: list[str] = []

    class Response:
        def is_done(self) -> bool:
            return False

        async def send_message(self, content: str, **_kwargs: object) -> None:
            sent.append(content)

    class Interaction:
        response = Response()

    await render_error(Interaction(), InvalidInput("Nope. " * 1000))  # type: ignore[arg-type]
    assert len(sent) == 1 and len(sent[0]) <= MESSAGE_LIMIT and sent[0].startswith("Nope.")
