"""The features this bot runs, in order: the one list a new feature is added to.

Order matters where it shows: ``/group info`` lines and the hooks run feature by feature.
The composition root (``bot.app.App``) binds this registry to its sessions; sessions built
without one (unit tests, scripts) use it too.
"""

from __future__ import annotations

from bot.features import FeatureRegistry, set_builtin
from bot.services import (
    agenda_feature,
    attendance_feature,
    brainstorms_feature,
    buddies_feature,
    commitments_feature,
    events_feature,
    goals_feature,
    meetings_feature,
    modules_feature,
    review_feature,
    snooze_feature,
)

FEATURES = FeatureRegistry(
    (
        meetings_feature.FEATURE,
        modules_feature.FEATURE,
        commitments_feature.FEATURE,
        buddies_feature.FEATURE,
        agenda_feature.FEATURE,
        brainstorms_feature.FEATURE,
        goals_feature.FEATURE,
        snooze_feature.FEATURE,
        attendance_feature.FEATURE,
        review_feature.FEATURE,
        events_feature.FEATURE,
    )
)
set_builtin(FEATURES)
