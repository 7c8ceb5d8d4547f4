"""Text a member types: one cleaning for storage, one key for comparing names.

:func:`clean` is what every service applies to member text before it checks or stores it: NFC
(so a decomposed ``é`` is the same string as a composed one), control characters gone (NUL
included: PostgreSQL refuses it), and invisible characters gone — zero-width space, word joiner,
BOM, soft hyphen, bidi controls, Hangul fillers… A text that is nothing but such characters and
whitespace cleans to ``""``, so a service's ``if not cleaned`` refuses it.

Kept on purpose: a zero-width joiner or non-joiner *between* two emoji (👩‍💻, ❤️‍🔥) or two letters of
a script that writes with them (Persian, the Indic scripts), and the tag characters of a flag
(🏴󠁧󠁢󠁳󠁣󠁴󠁿). Anywhere else they are invisible noise and go.

:func:`name_key` is the comparison key for names (group names, unique per server): NFKC, case-folded,
every invisible character removed (joiners too), whitespace collapsed. ``Al\u200bpha``, ``ALPHA`` and
full-width ``Ａｌｐｈａ`` all share the key ``alpha``.

No discord import: this is the domain ring. Escaping markdown for display is ``bot.ui.text.inert``.
"""

from __future__ import annotations

import re
import unicodedata

ZWNJ, ZWJ = "\u200c", "\u200d"
_BLACK_FLAG = "\U0001f3f4"
_TAGS = range(0xE0020, 0xE0080)  # tag characters; U+E007F ends a flag's tag sequence
# Visible "format" characters (Cf) that print something: the Arabic/Syriac number signs and friends.
_VISIBLE_FORMAT = frozenset("\u0600\u0601\u0602\u0603\u0604\u0605\u06dd\u070f\u0890\u0891\u08e2\U000110bd\U000110cd")
# Letters that show nothing: the Hangul fillers (a classic "invisible name").
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0")
# Marks that show nothing: combining grapheme joiner, Khmer inherent vowels, Mongolian free
# variation selectors, variation selectors. Kept after a character (❤️ is U+2764 U+FE0F), never
# counted as content, and left out of a name's key.
_INVISIBLE_MARKS = frozenset("\u034f\u17b4\u17b5\u180b\u180c\u180d\u180f")
# Shown as blank space though not Unicode whitespace: treated as a space.
_BLANK_AS_SPACE = frozenset("\u2800")  # braille pattern blank
# Scripts that use ZWJ/ZWNJ inside words: Arabic, Syriac, Thaana, NKo…, the Indic scripts through
# Sinhala, Thai to Myanmar, Khmer and Mongolian, Arabic presentation forms.
_JOINER_SCRIPTS = ((0x0600, 0x08FF), (0x0900, 0x0DFF), (0x0E00, 0x109F), (0x1780, 0x18AF),
                   (0xA8E0, 0xA8FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF))
_MANY_BLANK_LINES = re.compile(r"\n{3,}")


def _is_emoji(char: str) -> bool:
    """Close enough to Extended_Pictographic for deciding where a ZWJ belongs (no table needed)."""
    code = ord(char)
    if 0x1F000 <= code <= 0x1FAFF or code in (0xFE0F, 0x20E3):  # emoji blocks, skin tones, VS16, keycap
        return True
    return 0x2000 <= code <= 0x2BFF and unicodedata.category(char) == "So"  # ❤ ☕ ⚧ …


def _in_joiner_script(char: str) -> bool:
    code = ord(char)
    return unicodedata.category(char)[0] in "LM" and any(lo <= code <= hi for lo, hi in _JOINER_SCRIPTS)


def _keeps_joiner(before: str, after: str, joiner: str) -> bool:
    if not before or not after:
        return False
    if joiner == ZWJ and _is_emoji(before) and _is_emoji(after):
        return True
    return _in_joiner_script(before) and _in_joiner_script(after)


def _removed(char: str) -> bool:
    """Dropped from stored text wherever it is (joiners and tags are decided in context)."""
    category = unicodedata.category(char)
    if category in ("Cc", "Cs"):
        return True
    if category == "Cf":
        return char not in _VISIBLE_FORMAT
    return char in _FILLERS


def is_invisible(char: str) -> bool:
    """A character that shows nothing by itself: a control, format or filler character, or an invisible mark."""
    code = ord(char)
    return (_removed(char) or char in _INVISIBLE_MARKS or 0xFE00 <= code <= 0xFE0F
            or 0xE0100 <= code <= 0xE01EF)


def is_blank(text: str) -> bool:
    """True when nothing in ``text`` would show: only whitespace, invisible characters and marks."""
    return not any(
        not char.isspace() and char not in _BLANK_AS_SPACE and not is_invisible(char)
        and unicodedata.category(char) not in ("Mn", "Me")
        for char in text
    )


def _strip_invisible(text: str, *, multiline: bool) -> str:
    out: list[str] = []
    in_flag = False
    for index, char in enumerate(text):
        code = ord(char)
        if char in "\r\n\u2028\u2029\x0b\x0c\x85":
            out.append("\n" if multiline else " ")
        elif char.isspace() or char in _BLANK_AS_SPACE:
            out.append(" ")
        elif code in _TAGS:
            # Kept only inside a flag's tag sequence: 🏴 + tags + U+E007F.
            if in_flag:
                out.append(char)
                in_flag = code != 0xE007F
        elif char in (ZWJ, ZWNJ):
            before = out[-1] if out else ""
            after = text[index + 1] if index + 1 < len(text) else ""
            if _keeps_joiner(before, after, char):
                out.append(char)
        elif unicodedata.category(char) in ("Mn", "Me", "Mc"):
            if out and not out[-1].isspace():  # a mark on nothing (start of text, after a space) goes
                out.append(char)
        elif not _removed(char):
            out.append(char)
        if code not in _TAGS:
            in_flag = char == _BLACK_FLAG
    return "".join(out)


def clean(text: str | None, *, multiline: bool = False) -> str:
    """Member text as it is stored: NFC, no controls, no stray invisible characters, tidy whitespace.

    One line (``multiline=False``, the default): every run of whitespace, line breaks included,
    becomes one space. ``multiline=True`` keeps line breaks (``\\r\\n`` → ``\\n``), trims each line's
    end and the whole text, and keeps at most one empty line in a row. Returns ``""`` when nothing visible is left.
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n"))
    text = _strip_invisible(text, multiline=multiline)
    if multiline:
        lines = [line.rstrip() for line in text.split("\n")]
        text = _MANY_BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
    else:
        text = " ".join(text.split())
    return "" if is_blank(text) else text


def name_key(name: str) -> str:
    """The key two names are compared by: NFKC, case-folded, invisible characters removed, spaces collapsed."""
    text = unicodedata.normalize("NFKC", clean(name))
    text = "".join(char for char in text if not is_invisible(char))  # joiners and flag tags too
    return " ".join(unicodedata.normalize("NFKC", text.casefold()).split())


def quoted(text: str, limit: int = 40) -> str:
    """What a member typed, echoed in a refusal as an inline code span that can't break out.

    One line, at most ``limit`` characters, a backtick shown as ``ˋ`` (so the span can't close
    early); "nothing" when nothing visible was typed. For the domain's messages
    (``f"{quoted(text)} isn't a commitment"``), where ``bot.ui.text.inert`` can't be used.
    """
    shown = clean(text).replace("`", "ˋ")
    if not shown:
        return "nothing"
    if len(shown) > limit:
        shown = shown[: limit - 1] + "…"
    return f"`{shown}`"
