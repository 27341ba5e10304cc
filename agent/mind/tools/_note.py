"""``note``: append text to a Markdown file inside the notes folder (one plain file name, size-capped).

The tool checks the name (:func:`sinks.note_path_problem`) and the text's size; the writer checks
both again when it appends, after the batch commits, with the file's whole size (``sinks/_notes.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reactivex import Observable

from agent.mind.tools._results import act, call_id, episode, preview, text_arg, with_dead_letter
from agent.mind.tools._tool import Risk, ToolContext, ToolResult
from sinks import NoteRow, note_path_problem

__all__ = ["NOTE_NAME_PATTERN", "NoteTool"]

NOTE_NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}\.md$"
"""A notes file's name: lower-case letters, digits, ``.``, ``_``, ``-``, ending in ``.md``."""

EPISODE_TEXT_CHARS = 500
"""How much of the note's text its episode keeps (the whole text is in the file)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NoteTool:
    """Append to a notes file: a :class:`NoteRow` for the writer and a ``mind.note`` episode."""

    max_bytes: int = 65_536
    timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if self.max_bytes < 1:
            raise ValueError(f"NoteTool.max_bytes: expected >= 1, got {self.max_bytes}")

    @property
    def name(self) -> str:
        return "note"

    @property
    def description(self) -> str:
        return (
            "Append text to a Markdown file in the notes folder "
            f"(a plain name such as today.md; at most {self.max_bytes} bytes)."
        )

    @property
    def arguments(self) -> Mapping[str, Any]:
        return {
            "type": "object",
            "properties": {
                "path": {"type": "string", "maxLength": 67, "pattern": NOTE_NAME_PATTERN},
                "text": text_arg(self.max_bytes),
            },
            "required": ["path", "text"],
            "additionalProperties": False,
        }

    @property
    def risk(self) -> Risk:
        return "low"

    def run(self, arguments: Mapping[str, Any], context: ToolContext) -> Observable[ToolResult]:
        def noted() -> ToolResult:
            path, text = arguments["path"], str(arguments["text"])
            problem = note_path_problem(path)
            if problem is not None:
                return with_dead_letter(
                    context, self.name, arguments, reason="invalid_arguments", detail=f"path: {problem}"
                )
            size = len(text.encode("utf-8"))
            if size > self.max_bytes:
                detail = f"text: {size} bytes, over the cap of {self.max_bytes}"
                return with_dead_letter(context, self.name, arguments, reason="invalid_arguments", detail=detail)
            note_id = call_id(context, self.name, arguments)
            row = NoteRow(id=note_id, path=path, text=text, time=context.now)
            ep = episode(
                context,
                self.name,
                arguments,
                type="mind.note",
                description=f"noted in {path}: {preview(text, 80)}",
                data={"note_id": note_id, "path": path, "bytes": size, "text": text[:EPISODE_TEXT_CHARS]},
            )
            return ToolResult(
                outcome="success",
                summary=f"noted {size} bytes in {path}",
                rows=(row, ep),
                data={"note_id": note_id, "path": path, "bytes": size},
            )

        return act(noted)
