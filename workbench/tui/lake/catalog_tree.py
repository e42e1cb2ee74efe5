"""The catalog tree: lake tables (with versions and columns), views and attached sources — all lazy.

Opening lists table names with counts from the catalog (no scans); a table's columns and versions,
and a source's tables, are fetched only when its node is expanded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from textual import on, work
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from workbench.errors import WorkbenchError
from workbench.tui.lake.reporting import LakeFailed, report
from workbench.workspace import Workspace


@dataclass(frozen=True)
class CatalogItem:
    kind: str  # group, table, view, version, source, source_table, column, info
    name: str = ""
    version: int | None = None


def human_size(size: int | None) -> str:
    if size is None:
        return ""
    if size == 0:
        return "inlined"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} PB"


# How a table's check status reads in the catalog (the colours the tree already uses for errors).
_CHECK_STYLE = {"certified": "green", "failed": "red", "unchecked": "yellow", "allowed": "yellow"}


class CatalogTree(Tree[CatalogItem]):
    DEFAULT_CSS = "CatalogTree { width: 48; height: 1fr; border: round $primary; border-title-color: $accent; }"

    class Loaded(Message):
        def __init__(self, tables: list, views: list, sources: list, checks: dict | None = None) -> None:
            super().__init__()
            self.tables, self.views, self.sources = tables, views, sources
            self.checks = checks or {}  # table -> VersionState of its current version

    class ChildrenLoaded(Message):
        def __init__(self, node_id: int, children: list[tuple[str, CatalogItem, bool]]) -> None:
            super().__init__()
            self.node_id, self.children = node_id, children

    class Chosen(Message):
        """The user highlighted something that can be previewed: a table, a version or a source table."""

        def __init__(self, table: str, version: int | None) -> None:
            super().__init__()
            self.table, self.version = table, version

    def __init__(self, workspace: Workspace, get_lake: Callable[[], Any], id: str | None = None) -> None:
        super().__init__("lake", data=CatalogItem("group"), id=id)
        self.workspace, self.get_lake = workspace, get_lake
        self.show_root = False
        self.border_title = "Catalog"
        self.table_names: list[str] = []
        self._loaded_nodes: set[int] = set()
        self._first_load = True

    def on_mount(self) -> None:
        self.reload()

    def reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="lake-catalog")
    def _load(self) -> None:
        from workbench.lake.attach import list_sources
        from workbench.lake.catalog import list_tables, list_views

        def everything() -> CatalogTree.Loaded:
            from workbench.lake.certification import version_states

            lake = self.get_lake()
            tables = list_tables(lake)
            checks = version_states(self.workspace, [(t.name, t.version) for t in tables])
            return self.Loaded(tables, list_views(lake), list_sources(self.workspace), checks)

        report(self, everything, lambda loaded: loaded)

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        selected = self.cursor_node.data if self.cursor_node is not None else None
        self.clear()
        self._loaded_nodes.clear()
        self.table_names = [t.name for t in message.tables]
        tables = self.root.add(f"Tables [dim]({len(message.tables)})[/]", CatalogItem("group", "tables"), expand=True)
        for t in message.tables:
            detail = f"{t.row_count:,} rows · v{t.version or '-'}"
            if t.size_bytes:
                detail += f" · {human_size(t.size_bytes)}"
            state = message.checks.get(t.name)
            if state is not None and state.state != "no expectations":
                detail += f" · [{_CHECK_STYLE.get(state.state, 'dim')}]{state.state}[/]"
            tables.add(f"{t.name}  [dim]{detail}[/]", CatalogItem("table", t.name))
        if message.views:
            views = self.root.add(f"Views [dim]({len(message.views)})[/]", CatalogItem("group", "views"), expand=True)
            for v in message.views:
                views.add(f"{v.name}  [dim]view · {v.column_count} cols[/]", CatalogItem("view", v.name))
        sources = self.root.add(f"Sources [dim]({len(message.sources)}, read-only)[/]", CatalogItem("group", "sources"),
                                expand=True)
        for s in message.sources:
            sources.add(f"{s.name}  [dim]{s.kind} · {s.path}[/]", CatalogItem("source", s.name))
        if not message.tables and not message.sources:
            tables.add_leaf("[dim]empty: press i to ingest a file[/]", CatalogItem("info"))
        # Line numbers exist only after the tree has laid out its new nodes.
        self.call_after_refresh(self._restore, selected)

    def _restore(self, selected: CatalogItem | None) -> None:
        target = None
        for node in self._walk(self.root):
            if node.data is not None and node.data.kind == "table":
                if target is None or (selected is not None and node.data.name == selected.name):
                    target = node
                    if selected is not None and node.data.name == selected.name:
                        break
        if target is not None:
            self.move_cursor(target)
        if self._first_load:
            self._first_load = False
            if self.is_on_screen:  # never steal focus from a tab the user has already switched to
                self.focus()  # the Lake tab opens on the catalog, ready for the keyboard

    def _walk(self, node: TreeNode[CatalogItem]):  # type: ignore[no-untyped-def]
        for child in node.children:
            yield child
            yield from self._walk(child)

    @on(Tree.NodeExpanded)
    def _expanded(self, event: Tree.NodeExpanded[CatalogItem]) -> None:
        node = event.node
        if node.data is None or node.id in self._loaded_nodes or node.data.kind not in ("table", "view", "source", "source_table"):
            return
        self._loaded_nodes.add(node.id)
        node.add_leaf("[dim]loading…[/]", CatalogItem("info"))
        self._children(node.id, node.data)

    @work(thread=True, group="lake-catalog-children")
    def _children(self, node_id: int, item: CatalogItem) -> None:
        from workbench.lake.attach import source_tables
        from workbench.lake.catalog import table_columns, table_versions

        lake = self.get_lake()
        out: list[tuple[str, CatalogItem, bool]] = []
        try:
            if item.kind == "source":
                for t in source_tables(lake, item.name):
                    out.append((f"{t.name}  [dim]{t.column_count} cols[/]", CatalogItem("source_table", t.qualified), True))
            else:
                if item.kind == "table":
                    versions = table_versions(lake, item.name)
                    if versions:
                        latest = versions[-1]
                        out.append((f"[dim]updated {latest.created_at} by {latest.actor} · fingerprint "
                                    f"{(latest.fingerprint or '')[:12]}[/]", CatalogItem("info"), False))
                    for v in reversed(versions):
                        out.append((f"@{v.version}  [dim]{v.created_at} · {v.row_count or 0:,} rows · {v.actor}[/]",
                                    CatalogItem("version", item.name, v.version), False))
                for c in table_columns(lake, item.name):
                    out.append((f"{c.name}  [dim]{c.dtype}[/]", CatalogItem("column", c.name), False))
        except WorkbenchError as exc:
            out.append((f"[red]{exc.message}[/]", CatalogItem("info"), False))
        self.post_message(self.ChildrenLoaded(node_id, out))

    @on(ChildrenLoaded)
    def _children_loaded(self, message: ChildrenLoaded) -> None:
        node = self.get_node_by_id(message.node_id)  # type: ignore[arg-type]
        node.remove_children()
        for label, item, expandable in message.children:
            if expandable:
                node.add(label, item)
            else:
                node.add_leaf(label, item)

    @on(Tree.NodeHighlighted)
    def _highlighted(self, event: Tree.NodeHighlighted[CatalogItem]) -> None:
        item = event.node.data
        if item is None:
            return
        if item.kind in ("table", "view", "source_table"):
            self.post_message(self.Chosen(item.name, None))
        elif item.kind == "version":
            self.post_message(self.Chosen(item.name, item.version))

    @on(LakeFailed)
    def _failed(self, message: LakeFailed) -> None:
        message.stop()
        self.notify(message.error, title="Lake", severity="error")
