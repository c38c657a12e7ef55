"""What an import did (or would do): counts per entity, the changed lines, notes and warnings."""

from __future__ import annotations

from dataclasses import dataclass, field

KIND_LABELS = {"schedule": "考场安排", "staff": "人员名单", "roster": "考生名册"}


@dataclass(slots=True)
class Counts:
    """新增 / 更新 / 删除 / 取消（停用） / 不变 for one entity."""

    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    cancelled: int = 0  # sessions and rooms cancelled, staff deactivated (``--prune``): rows kept, marked
    cancel_word: str = "取消"

    @property
    def changed(self) -> int:
        """How many rows were written."""
        return self.created + self.updated + self.deleted + self.cancelled

    def render(self) -> str:
        """``新增 6，更新 0，不变 0`` plus ``，删除 n`` / ``，取消 n`` when there are any."""
        text = f"新增 {self.created}，更新 {self.updated}，不变 {self.unchanged}"
        text += f"，删除 {self.deleted}" if self.deleted else ""
        return text + (f"，{self.cancel_word} {self.cancelled}" if self.cancelled else "")


@dataclass(slots=True)
class ImportResult:
    """The outcome of :func:`bot.importer.import_file`."""

    kind: str
    file: str
    dry_run: bool = False
    counts: dict[str, Counts] = field(default_factory=dict)  # entity label (场次, 考场…) → counts
    changes: list[str] = field(default_factory=list)  # "新增 场次 第1场：…" lines
    notes: list[str] = field(default_factory=list)  # what the importer did to read the file
    warnings: list[str] = field(default_factory=list)  # worth a look, not errors
    session_ids: list[int] = field(default_factory=list)  # sessions created or whose times/rooms changed
    # what the database has for the file's days (or staff) but the file does not: cancelled with --prune
    missing: list[str] = field(default_factory=list)
    prune: bool = False

    def count(self, label: str) -> Counts:
        """The counts of an entity, created on first use."""
        return self.counts.setdefault(label, Counts())

    @property
    def changed(self) -> bool:
        """True when anything was (or, in a dry run, would be) written."""
        return any(c.changed for c in self.counts.values())

    def render(self, max_lines: int | None = None) -> str:
        """A Chinese summary for the office; ``max_lines`` limits the list of changes."""
        prefix = "【试运行，未写入数据库】" if self.dry_run else ""
        head = f"{prefix}导入{KIND_LABELS.get(self.kind, self.kind)} {self.file}"
        lines = [head + ("：无变化" if not self.changed else "：")]
        lines += [f"  {label}：{c.render()}" for label, c in self.counts.items()]
        lines += self.notes
        if self.changes:
            lines.append("将要进行的修改：" if self.dry_run else "修改明细：")
            shown = self.changes if max_lines is None else self.changes[:max_lines]
            lines += [f"  {c}" for c in shown]
            if len(shown) < len(self.changes):
                lines.append(f"  ……另有 {len(self.changes) - len(shown)} 条")
        if self.missing and not self.prune:
            verb = _PRUNE_VERB.get(self.kind, "处理")
            lines.append(f"数据库中有、本文件中没有，未作改动（加 --prune 重新导入即{verb}）：")
            lines += [f"  {m}" for m in self.missing]
        if self.warnings:
            lines.append("请注意：")
            lines += [f"  {w}" for w in self.warnings]
        return "\n".join(lines)


_PRUNE_VERB = {"schedule": "取消这些场次和考场，其记录保留", "staff": "停用这些人员", "roster": "删除"}
