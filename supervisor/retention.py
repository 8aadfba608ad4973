"""Retention: exchanges older than their school's policy allows are purged, leaving tombstones in the audit
chain. A policy's `retention.minimum_days` is a floor nobody goes below, not even with an explicit age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .errors import BadRequest
from .policy import Policies


def purge_expired(store, policies: Policies, older_than_days: int | None = None,
                  at: datetime | None = None) -> dict[str, tuple[int, str]]:
    """Purge per school; returns {school_id: (count, cutoff)} for the schools where anything was purged."""
    at = at or datetime.now(UTC)
    plans = []
    for school in policies.schools.values():
        policy = policies.policy_for(school)
        retention = policy.retention
        days = older_than_days if older_than_days is not None else (retention.days if retention else None)
        if days is None:
            continue
        floor = retention.minimum_days if retention else 0
        if days < floor:
            raise BadRequest(f"school {school.id}: policy {policy.name} requires keeping records at least "
                             f"{floor} days; {days} is below that")
        plans.append((school.id, days, policy.name))
    purged = {}
    for school_id, days, policy_name in plans:
        cutoff = (at - timedelta(days=days)).isoformat(timespec="microseconds")
        count = store.purge_before(school_id, cutoff, {"reason": "retention", "policy": policy_name,
                                                       "retention_days": days})
        if count:
            purged[school_id] = (count, cutoff)
    return purged
