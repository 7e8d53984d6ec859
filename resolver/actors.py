"""Who is acting: a staff member, the resident, a panel member, or Resolver itself."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    kind: str  # 'staff', 'resident', 'panel' or 'system'
    id: int | None
    label: str
    company_id: int | None = None
    role: str | None = None  # for staff: 'manager' or 'supervisor'

    @classmethod
    def staff(cls, user) -> Actor:
        return cls("staff", user.id, user.name, user.company_id, user.role)

    @classmethod
    def resident(cls, resident) -> Actor:
        return cls("resident", resident.id, resident.name, resident.company_id)

    @classmethod
    def panel(cls, member) -> Actor:
        return cls("panel", member.id, member.name, member.company_id)

    @classmethod
    def system(cls, label: str = "Resolver") -> Actor:
        return cls("system", None, label)

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"

    @property
    def is_system(self) -> bool:
        return self.kind == "system"
