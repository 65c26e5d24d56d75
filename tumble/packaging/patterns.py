"""serverless.yml's `package.patterns`, applied the way Serverless Framework v3 applies them
(lib/plugins/package/lib/package-service.js): every file of the service starts included, the
Framework's default excludes come first, then each pattern in order, `!` excluding; the last
pattern that matches a file decides. Globs follow minimatch with `dot: true`: `**` spans any
number of directories, `*` and `?` stay inside one, `[...]` and `{a,b}` as usual.

Directories that no later pattern could bring back are not walked at all, so `.venv` and
`node_modules` cost nothing."""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_EXCLUDES", "Pattern", "matching_files", "parse_patterns"]

# The Framework excludes these before the service's own patterns (v3 package-service.js).
DEFAULT_EXCLUDES = (
    ".git/**",
    ".gitignore",
    ".DS_Store",
    "npm-debug.log",
    "yarn-*.log",
    ".serverless/**",
    ".serverless_plugins/**",
)
_GLOBSTAR = "**"
_BRACES = re.compile(r"\{([^{}]*,[^{}]*)\}")


def _expand_braces(pattern: str) -> list[str]:
    match = _BRACES.search(pattern)
    if match is None:
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    return [
        expanded
        for choice in match.group(1).split(",")
        for expanded in _expand_braces(head + choice + tail)
    ]


@dataclass(frozen=True, slots=True)
class Pattern:
    """One entry of `package.patterns`: a glob and whether it includes or excludes."""

    text: str
    include: bool
    alternatives: tuple[tuple[re.Pattern[str] | str, ...], ...]

    def matches(self, parts: Sequence[str]) -> bool:
        return any(_match(segments, parts) for segments in self.alternatives)

    def may_match_below(self, parts: Sequence[str]) -> bool:
        """Whether some file under the directory `parts` could match."""
        return any(_prefix(segments, parts) for segments in self.alternatives)

    def covers_all_below(self, parts: Sequence[str]) -> bool:
        """Whether every file under the directory `parts` matches (`**`, `dir/**`, ...)."""
        return any(
            segments[-1] == _GLOBSTAR
            and len(segments) - 1 <= len(parts)
            and _match(segments[:-1], parts[: len(segments) - 1])
            for segments in self.alternatives
        )


def _segment(text: str) -> re.Pattern[str] | str:
    if text == _GLOBSTAR:
        return _GLOBSTAR
    return re.compile(fnmatch.translate(text))


def _matches_segment(segment: re.Pattern[str] | str, name: str) -> bool:
    return segment == _GLOBSTAR or bool(segment.match(name))  # type: ignore[union-attr]


def _match(segments: Sequence[re.Pattern[str] | str], parts: Sequence[str]) -> bool:
    if not segments:
        return not parts
    head = segments[0]
    if head == _GLOBSTAR:
        return any(_match(segments[1:], parts[i:]) for i in range(len(parts) + 1))
    return bool(parts) and _matches_segment(head, parts[0]) and _match(segments[1:], parts[1:])


def _prefix(segments: Sequence[re.Pattern[str] | str], parts: Sequence[str]) -> bool:
    for index, name in enumerate(parts):
        if index >= len(segments):
            return False
        if segments[index] == _GLOBSTAR:
            return True
        if not _matches_segment(segments[index], name):
            return False
    return True


def parse_patterns(texts: Sequence[str]) -> list[Pattern]:
    """The Framework's default excludes followed by `texts`, ready to match."""
    patterns = [f"!{text}" for text in DEFAULT_EXCLUDES] + list(texts)
    parsed = []
    for text in patterns:
        include = not text.startswith("!")
        glob = text if include else text[1:]
        glob = glob.removeprefix("./")
        alternatives = tuple(
            tuple(_segment(part) for part in expanded.split("/") if part)
            for expanded in _expand_braces(glob)
        )
        parsed.append(Pattern(text, include, alternatives))
    return parsed


def _included(patterns: Sequence[Pattern], parts: Sequence[str]) -> bool:
    included = True
    for pattern in patterns:
        if pattern.matches(parts):
            included = pattern.include
    return included


def _prunable(patterns: Sequence[Pattern], parts: Sequence[str]) -> bool:
    """True when no file under this directory can end up included."""
    for index in range(len(patterns) - 1, -1, -1):
        pattern = patterns[index]
        if pattern.include and pattern.may_match_below(parts):
            return False
        if not pattern.include and pattern.covers_all_below(parts):
            return True
    return False


def matching_files(root: Path, texts: Sequence[str]) -> Iterator[str]:
    """The service's files (POSIX paths relative to `root`, sorted) that the patterns keep."""
    patterns = parse_patterns(texts)
    found: list[str] = []
    for directory, subdirectories, files in os.walk(root):
        base = Path(directory).relative_to(root).parts
        subdirectories[:] = sorted(
            name for name in subdirectories if not _prunable(patterns, (*base, name))
        )
        found.extend(
            "/".join((*base, name)) for name in files if _included(patterns, (*base, name))
        )
    yield from sorted(found)
