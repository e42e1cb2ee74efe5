"""The SQL console's editor: TextArea with completion of the lake's tables and columns and DuckDB's keywords.

Textual's TextArea draws `suggestion` as ghost text after the cursor and inserts it on →; this subclass
only decides what to suggest, from a vocabulary the console loads in a worker (no catalog query per key).
"""

from __future__ import annotations

from textual.widgets import TextArea

from workbench.lake.completion import Vocabulary

SHOWN_ALTERNATIVES = 3


class SqlEditor(TextArea):
    """Build it with `SqlEditor.code_editor(...)`, as a TextArea."""

    vocabulary: Vocabulary = Vocabulary()  # empty until the console's worker has read the catalog
    candidates: tuple[str, ...] = ()

    def set_vocabulary(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        self.update_suggestion()

    def update_suggestion(self) -> None:
        row, column = self.cursor_location
        line = self.document.get_line(row)
        at_word_end = column == len(line) or not (line[column].isalnum() or line[column] == "_")
        before = line[:column]
        self.candidates = tuple(self.vocabulary.complete(before, self.text)
                                if at_word_end and self.selection.is_empty else ())
        if self.candidates:
            typed = len(before) - len(before.rstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"))
            self.suggestion = self.candidates[0][typed:]
            others = list(self.candidates[1:1 + SHOWN_ALTERNATIVES])
            more = len(self.candidates) - 1 - len(others)
            self.border_subtitle = (f"→ {self.candidates[0]}" + (f" · also {', '.join(others)}" if others else "")
                                    + (f" +{more}" if more > 0 else ""))
        else:
            self.suggestion = ""
            self.border_subtitle = ""

    def _on_text_area_selection_changed(self, event: TextArea.SelectionChanged) -> None:
        self.update_suggestion()  # a cursor moved by arrows or mouse: the ghost text follows it
