"""Where an imported stage comes from: the file's claim, or verified when the admin trusts it.

A file is somebody's word about people's stages. Unless the admin who applies it ticks
"trust these stages" on the preview, a stage the import gives or changes is self-declared
and waits for verification like a stage set on a profile. With the box ticked it is
StageSource.IMPORTED, set by that admin, with a note naming the file and the day.

A stage the file repeats keeps the source it has, so re-importing a file never undoes an
endorsement or an admin's decision; the one exception is that a trusted file verifies a
stage the person holds only on their own word (importing first without the box and then
again with it does what the admin meant).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..models import Person, PersonSkill, Stage, StageSource


@dataclass(frozen=True)
class ImportOrigin:
    """The import stages come from: its file and day, and the admin who trusts it, if any."""

    filename: str
    applied_on: date
    trusted_by: Person | None = None

    @property
    def note(self) -> str:
        named = f' "{self.filename}"' if self.filename else ""
        return f"Imported from the file{named} on {self.applied_on.isoformat()}"


@dataclass
class StageOutlook:
    """What a file does to stages, counted the same whether or not the admin trusts it."""

    arriving: int = 0  # stages the file gives or changes
    hosting_unverified: int = 0  # of those, masters' hosting stages: unverified without trust
    self_declared_repeated: int = 0  # stages the file repeats that are held self-declared now

    @property
    def verified_if_trusted(self) -> int:
        """How many stages the import marks verified (imported) if the admin trusts it."""
        return self.arriving + self.self_declared_repeated

    def count(
        self, held: PersonSkill | None, stage: Stage, *, hosts: bool, hosting_master: bool
    ) -> None:
        """Count one stage of the file against the stage the person holds now (None: none)."""
        if held is None or held.stage != stage:
            self.arriving += 1
            if hosts and hosting_master and stage is not Stage.APPRENTICE:
                self.hosting_unverified += 1
        elif held.stage_source is StageSource.SELF_DECLARED:
            self.self_declared_repeated += 1


def stage_text(key: str, stage: Stage, source: StageSource) -> str:
    """A stage as the change log writes it, e.g. ``negotiation/anchoring: master (imported)``."""
    return f"{key}: {stage.value} ({source.label})"


def place_stage(
    held: PersonSkill, stage: Stage, origin: ImportOrigin, *, key: str, new: bool
) -> tuple[str, str] | None:
    """Give `held` the file's stage and its source; (before, after) for the change log, or
    None when the stage and its source stay as they are."""
    # An admin's trust vouches for others: their own row stays their own word, as no one
    # verifies their own stage on the queue either.
    trusted = origin.trusted_by is not None and held.person is not origin.trusted_by
    if (
        not new
        and held.stage == stage
        and not (trusted and held.stage_source is StageSource.SELF_DECLARED)
    ):
        return None
    before = "" if new else stage_text(key, held.stage, held.stage_source)
    if trusted:
        held.set_stage(stage, StageSource.IMPORTED, by=origin.trusted_by, note=origin.note)
    else:
        held.set_stage(stage, StageSource.SELF_DECLARED, note=origin.note)
    return before, stage_text(key, stage, held.stage_source)
