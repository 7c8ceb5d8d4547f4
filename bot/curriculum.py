"""Curricula: a year of monthly modules, parsed from YAML or Markdown and validated.

Pure domain code (no Discord, no database). A :class:`Curriculum` is a list of
:class:`ModuleSpec`; :func:`parse` reads an uploaded file, :func:`to_yaml` writes one back,
:func:`load_default` reads the year shipped with the bot (``bot/data/curriculum.yaml``).

Both formats are documented, with an example each, in ``docs/CURRICULUM.md``. Every problem in a
file is reported with the line it is on and the field it concerns, so a facilitator can fix the
file without guessing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources as package_resources
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from bot.errors import InvalidInput

MAX_MODULES = 24
TITLE_MAX = 100
SUMMARY_MAX = 1000
ACTIVITY_MAX = 200
ACTIVITIES_MAX = 8
RESOURCES_MAX = 6
RESOURCE_TITLE_MAX = 100
URL_MAX = 300
MAX_FILE_BYTES = 256 * 1024
# Problems listed in one error message, and the message's length: it must fit in a Discord
# message (2,000 characters) whatever the file holds, or the facilitator gets no answer at all.
MAX_PROBLEMS_SHOWN = 10
MESSAGE_MAX = 1_900
PROBLEM_MAX = 180
FIELD_NAME_MAX = 40
# Lists and fields nested deeper than this can't be a curriculum (a resource is 5 deep).
MAX_DEPTH = 8

RESOURCE_KINDS = ("read", "watch", "listen")
ResourceKind = Literal["read", "watch", "listen"]
FORMATS = {".yaml": "yaml", ".yml": "yaml", ".md": "markdown", ".markdown": "markdown"}

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
# Control characters (other than tab and line breaks), and what isn't a character at all.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_URL = re.compile(r"^https?://[^\s/?#]+\.[^\s/?#]+(?:[/?#]\S*)?$", re.IGNORECASE)


class Resource(BaseModel):
    """Something to read, watch or listen to: a title, an http(s) link and its kind."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: Annotated[Text, Field(max_length=RESOURCE_TITLE_MAX)]
    url: Annotated[Text, Field(max_length=URL_MAX)]
    kind: ResourceKind = "read"

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not _URL.match(value):
            raise ValueError("must be a web link starting with http:// or https://")
        return value


class ModuleSpec(BaseModel):
    """One month's learning unit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    number: Annotated[int, Field(ge=1, le=MAX_MODULES, strict=True)]
    title: Annotated[Text, Field(max_length=TITLE_MAX)]
    summary: Annotated[Text, Field(max_length=SUMMARY_MAX)]
    activities: Annotated[
        list[Annotated[Text, Field(max_length=ACTIVITY_MAX)]], Field(max_length=ACTIVITIES_MAX)
    ] = Field(default_factory=list)
    resources: Annotated[list[Resource], Field(max_length=RESOURCES_MAX)] = Field(default_factory=list)

    def as_record(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class Curriculum(BaseModel):
    """A group's ordered modules for the year: 1 to 24 modules with distinct numbers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    modules: Annotated[list[ModuleSpec], Field(min_length=1, max_length=MAX_MODULES)]

    @model_validator(mode="after")
    def _distinct_numbers(self) -> Curriculum:
        if len({module.number for module in self.modules}) != len(self.modules):
            raise ValueError("two modules have the same number")
        return self

    def sorted(self) -> list[ModuleSpec]:
        return sorted(self.modules, key=lambda module: module.number)


# --- errors ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "file"
        text = f"{where}, {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        return _shorten(text, PROBLEM_MAX)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class CurriculumError(InvalidInput):
    """A curriculum file that can't be used; ``problems`` names the line and field of each."""

    def __init__(self, filename: str, problems: list[Problem]) -> None:
        self.filename = filename
        self.problems = problems
        name = _CONTROL.sub("", filename[:80]).replace("`", "'")
        header = f"`{name}` can't be imported; nothing was changed."
        # As many problems as fit (at most MAX_PROBLEMS_SHOWN), then "…and N more."
        tail_room = len("\n…and 9999 more.")
        lines: list[str] = []
        length = len(header)
        for problem in problems[:MAX_PROBLEMS_SHOWN]:
            line = f"\n- {problem}"
            if length + len(line) + tail_room > MESSAGE_MAX:
                break
            lines.append(line)
            length += len(line)
        more = len(problems) - len(lines)
        extra = f"\n…and {more} more." if more > 0 else ""
        super().__init__(header + "".join(lines) + extra)


# --- parsing -----------------------------------------------------------------------------------

Locate = Callable[[tuple[int | str, ...]], int | None]


def parse(data: bytes, filename: str) -> Curriculum:
    """A curriculum from an uploaded file (YAML or Markdown, chosen by the file's extension)."""
    kind = file_format(filename)
    if len(data) > MAX_FILE_BYTES:
        raise CurriculumError(filename, [Problem(None, "", f"the file is larger than {MAX_FILE_BYTES // 1024} KB")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CurriculumError(filename, [Problem(line, "", "the file isn't UTF-8 text")]) from None
    _refuse_control_characters(text, filename)
    if kind == "yaml":
        return parse_yaml(text, filename)
    return parse_markdown(text, filename)


def _refuse_control_characters(text: str, filename: str) -> None:
    """A NUL or other control character anywhere is refused, with each line that holds one."""
    problems: list[Problem] = []
    for number, line in enumerate(text.split("\n"), start=1):
        found = _CONTROL.search(line)
        if found is not None:
            problems.append(Problem(number, "", f"a control character (U+{ord(found.group()):04X}): remove it"))
    if problems:
        raise CurriculumError(filename, problems)


def file_format(filename: str) -> str:
    """``yaml`` or ``markdown`` from the file's extension; anything else is refused."""
    lower = filename.lower()
    for extension, kind in FORMATS.items():
        if lower.endswith(extension):
            return kind
    raise InvalidInput(
        f"`{filename[:80]}` isn't a curriculum file: upload a YAML (`.yaml`, `.yml`) or Markdown (`.md`) file."
    )


def parse_yaml(text: str, filename: str = "curriculum.yaml") -> Curriculum:
    """``modules:`` (a list of modules), or the list on its own; errors name the line.

    The text is first read as a stream of events (no recursion): lists or fields nested more than
    ``MAX_DEPTH`` deep and YAML aliases (which can nest, or multiply, without limit) are refused
    before anything is built from them.
    """
    try:
        _check_shape(text, filename)
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        reason = _shorten(str(exc.problem or exc.context), 80)
        raise CurriculumError(filename, [Problem(line, "", f"not valid YAML ({reason})")]) from None
    except yaml.YAMLError as exc:
        raise CurriculumError(filename, [Problem(None, "", f"not valid YAML ({_shorten(str(exc), 80)})")]) from None
    except RecursionError:
        raise CurriculumError(filename, [Problem(None, "", "lists or fields are nested too deeply")]) from None

    if isinstance(data, list):
        data = {"modules": data}
        node = yaml.MappingNode("tag:yaml.org,2002:map", [(yaml.ScalarNode("", "modules"), node)])
    if not isinstance(data, dict):
        raise CurriculumError(filename, [Problem(1, "", "expected `modules:` followed by a list of modules")])

    def locate(loc: tuple[int | str, ...]) -> int | None:
        return _yaml_line(node, loc)

    return _validate(data, filename, locate)


def _check_shape(text: str, filename: str) -> None:
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1 if event.start_mark is not None else None
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise CurriculumError(filename, [Problem(line, "", "YAML anchors and aliases (`&`, `*`) aren't supported")])
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise CurriculumError(
                    filename, [Problem(line, "", f"lists or fields nested more than {MAX_DEPTH} deep")]
                )
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1


def _yaml_line(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """The line of the deepest YAML node on the path ``loc`` (pydantic's error location)."""
    line = node.start_mark.line + 1 if node is not None and node.start_mark is not None else None
    for key in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            child = next((value for name, value in node.value if getattr(name, "value", None) == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            child = node.value[key]
        if child is None:
            break
        node = child
        if node.start_mark is not None:
            line = node.start_mark.line + 1
    return line


_HEADING = re.compile(r"^##(?!#)\s*(?P<rest>.*?)\s*#*\s*$")
_NUMBERED = re.compile(r"^(?:module\s+)?(?P<number>[0-9]+)\s*[.):\-–]?\s*(?P<title>.*)$", re.IGNORECASE)
_SUBHEADING = re.compile(r"^###\s*(?P<name>.*?)\s*:?\s*#*\s*$")
_BULLET = re.compile(r"^[-*+]\s+(?P<text>.*\S)\s*$")
_RESOURCE = re.compile(
    r"^\[(?P<title>[^\]]*)\]\(\s*(?P<url>[^)\s]*)\s*\)\s*(?:\(\s*(?P<kind>[^)]*?)\s*\))?\s*$"
)


def parse_markdown(text: str, filename: str = "curriculum.md") -> Curriculum:
    """The Markdown format (see ``docs/CURRICULUM.md``)::

        ## 1. Vision and goals
        A paragraph or two: the summary.

        ### Activities
        - Write down where you want the business to be in three years.

        ### Resources
        - [SMART criteria](https://en.wikipedia.org/wiki/SMART_criteria) (read)
    """
    modules: list[dict[str, Any]] = []
    lines: dict[tuple[int | str, ...], int] = {}
    problems: list[Problem] = []
    section = "summary"
    paragraph: list[str] = []
    summary: list[str] = []

    def flush_paragraph() -> None:
        if paragraph:
            summary.append(" ".join(paragraph))
            paragraph.clear()

    def finish_module() -> None:
        flush_paragraph()
        if modules:
            modules[-1]["summary"] = "\n\n".join(summary)
        summary.clear()

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            flush_paragraph()
            continue
        if line.startswith("# ") or line == "#":
            continue  # the document's own title
        heading = _HEADING.match(line)
        if heading:
            finish_module()
            index = len(modules)
            numbered = _NUMBERED.match(heading["rest"])
            if numbered is None:
                problems.append(Problem(number, "heading", "a module heading is `## <number>. <title>`"))
                module: dict[str, Any] = {"number": None, "title": heading["rest"]}
            else:
                module = {"number": int(numbered["number"]), "title": numbered["title"]}
            module.update(activities=[], resources=[])
            modules.append(module)
            lines[(index,)] = lines[(index, "number")] = lines[(index, "title")] = number
            lines[(index, "summary")] = number
            section = "summary"
            continue
        if not modules:
            problems.append(Problem(number, "", "text before the first module heading (`## 1. Title`)"))
            continue
        index = len(modules) - 1
        sub = _SUBHEADING.match(line)
        if sub:
            flush_paragraph()
            name = sub["name"].strip("*_ ").lower()
            if name in ("activities", "activity"):
                section = "activities"
                lines[(index, "activities")] = number
            elif name in ("resources", "resource", "further resources"):
                section = "resources"
                lines[(index, "resources")] = number
            else:
                problems.append(Problem(number, "heading", "a module's sub-headings are `### Activities` and `### Resources`"))
            continue
        bullet = _BULLET.match(line)
        if section == "summary":
            if not summary and not paragraph:
                lines[(index, "summary")] = number
            paragraph.append(line)
        elif bullet is None:
            field = section[:-1] if section == "resources" else "activity"
            problems.append(Problem(number, field, "expected a `- ` list item here"))
        elif section == "activities":
            position = len(modules[index]["activities"])
            lines[(index, "activities", position)] = number
            modules[index]["activities"].append(bullet["text"])
        else:
            position = len(modules[index]["resources"])
            lines[(index, "resources", position)] = number
            match = _RESOURCE.match(bullet["text"])
            if match is None:
                problems.append(
                    Problem(number, "resource", "expected `- [Title](https://…) (read)` — kind read, watch or listen")
                )
                modules[index]["resources"].append({"title": bullet["text"], "url": ""})
                continue
            resource: dict[str, Any] = {"title": match["title"], "url": match["url"]}
            if match["kind"] is not None:
                resource["kind"] = match["kind"].lower()
            modules[index]["resources"].append(resource)
    finish_module()

    if not modules and not problems:
        problems.append(Problem(None, "", "no modules found: each module starts with a heading like `## 1. Title`"))

    def locate(loc: tuple[int | str, ...]) -> int | None:
        if loc[:1] == ("modules",):
            loc = loc[1:]
        for end in range(len(loc), 0, -1):
            if loc[:end] in lines:
                return lines[loc[:end]]
        return None

    return _validate({"modules": modules}, filename, locate, problems)


# --- validation --------------------------------------------------------------------------------


def _validate(data: Any, filename: str, locate: Locate, problems: Iterable[Problem] = ()) -> Curriculum:
    found = list(problems) + _duplicate_numbers(data, locate)
    try:
        curriculum = Curriculum.model_validate(data)
    except ValidationError as exc:
        # The duplicate check above already named the lines; skip the model's own summary of it.
        duplicates_named = bool(found)
        found.extend(
            _problem(error, data, locate) for error in exc.errors() if error["loc"] or not duplicates_named
        )
    else:
        if not found:
            return curriculum
    found.sort(key=lambda problem: (problem.line is None, problem.line or 0))
    raise CurriculumError(filename, found)


def _duplicate_numbers(data: Any, locate: Locate) -> list[Problem]:
    modules = data.get("modules") if isinstance(data, dict) else None
    if not isinstance(modules, list):
        return []
    first: dict[int, int] = {}
    problems: list[Problem] = []
    for index, module in enumerate(modules):
        number = module.get("number") if isinstance(module, dict) else None
        if not isinstance(number, int) or isinstance(number, bool):
            continue
        if number in first:
            earlier = locate(("modules", first[number], "number"))
            also = f" (also on line {earlier})" if earlier is not None else ""
            problems.append(
                Problem(locate(("modules", index, "number")), f"module {number}, number", f"used twice{also}")
            )
        else:
            first[number] = index
    return problems


def _problem(error: ErrorDetails, data: Any, locate: Locate) -> Problem:
    loc = tuple(error["loc"])
    line = locate(loc)
    return Problem(line, _field_name(loc, data), _message(error))


_SINGULAR = {"activities": "activity", "resources": "resource", "modules": "module"}


def _field_name(loc: tuple[int | str, ...], data: Any) -> str:
    """``module 3, resources 2, url`` for pydantic's ``("modules", 2, "resources", 1, "url")``."""
    parts: list[str] = []
    rest = loc
    if rest[:1] == ("modules",):
        rest = rest[1:]
        if rest and isinstance(rest[0], int):
            module = _module_at(data, rest[0])
            number = module.get("number") if isinstance(module, dict) else None
            parts.append(f"module {number}" if isinstance(number, int) else f"module #{rest[0] + 1} in the file")
            rest = rest[1:]
        elif not rest:
            parts.append("modules")
    previous: int | str | None = None
    for key in rest:
        if isinstance(key, int):
            singular = _SINGULAR.get(previous, "item") if isinstance(previous, str) else "item"
            parts[-1] = f"{singular} {key + 1}"
        else:
            parts.append(_shorten(_CONTROL.sub("", str(key)), FIELD_NAME_MAX))
        previous = key
    return ", ".join(parts)


def _module_at(data: Any, index: int) -> Any:
    modules = data.get("modules") if isinstance(data, dict) else None
    if isinstance(modules, list) and 0 <= index < len(modules):
        return modules[index]
    return None


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "missing"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "string_too_short":
        return "empty"
    if kind == "string_too_long":
        return f"longer than {ctx.get('max_length')} characters"
    if kind == "too_long":
        return f"more than {ctx.get('max_length')} items"
    if kind == "too_short":
        return "no modules"
    if kind == "literal_error":
        return f"unknown kind `{str(error.get('input'))[:20]}` (use {', '.join(RESOURCE_KINDS)})"
    if kind in ("int_type", "int_parsing"):
        return "must be a whole number"
    if kind in ("less_than_equal", "greater_than_equal"):
        return f"must be between 1 and {MAX_MODULES}"
    if kind in ("string_type",):
        return "must be text"
    if kind in ("list_type",):
        return "must be a list"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return "must be a set of fields (title, url, …)"
    message = error["msg"]
    return message.removeprefix("Value error, ")


# --- writing -----------------------------------------------------------------------------------


def to_yaml(modules: Iterable[ModuleSpec]) -> str:
    """The curriculum as YAML in the import format (``parse_yaml`` reads it back unchanged)."""
    records = [module.as_record() for module in sorted(modules, key=lambda module: module.number)]
    return yaml.dump(
        {"modules": records}, Dumper=_ExportDumper, sort_keys=False, allow_unicode=True, width=100
    )


class _ExportDumper(yaml.SafeDumper):
    """Multi-paragraph text as a ``|`` block, so an exported file is easy to edit by hand."""


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    multiline = "\n" in text and not text.endswith((" ", "\n")) and "\n " not in text and " \n" not in text
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if multiline else None)


_ExportDumper.add_representer(str, _represent_text)


@cache
def load_default() -> Curriculum:
    """The year shipped with the bot; a broken data file fails loudly at start."""
    text = package_resources.files("bot").joinpath("data/curriculum.yaml").read_text(encoding="utf-8")
    return parse_yaml(text, "bot/data/curriculum.yaml")
