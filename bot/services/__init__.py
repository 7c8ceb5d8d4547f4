"""The domain services: one class per feature, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from bot.features import FeatureRegistry
from bot.services.agenda import AgendaService
from bot.services.base import Actor, ServiceContext
from bot.services.brainstorms import BrainstormService
from bot.services.catalog import FEATURES
from bot.services.commitments import CommitmentService
from bot.services.goals import GoalService
from bot.services.groups import GroupService
from bot.services.guilds import GuildService
from bot.services.help import HelpService
from bot.services.meetings import MeetingService
from bot.services.minutes import MinutesService
from bot.services.modules import ModuleService
from bot.services.mydata import MyDataService
from bot.services.outbox import OutboxService
from bot.services.review import ReviewService

__all__ = ["FEATURES", "Actor", "FeatureRegistry", "ServiceContext", "Services"]


@dataclass(frozen=True, slots=True)
class Services:
    guilds: GuildService
    groups: GroupService
    meetings: MeetingService
    agenda: AgendaService
    minutes: MinutesService
    commitments: CommitmentService
    brainstorms: BrainstormService
    goals: GoalService
    modules: ModuleService
    outbox: OutboxService
    help: HelpService
    mydata: MyDataService
    review: ReviewService

    @classmethod
    def build(cls, context: ServiceContext) -> Services:
        return cls(
            guilds=GuildService(context),
            groups=GroupService(context),
            meetings=MeetingService(context),
            agenda=AgendaService(context),
            minutes=MinutesService(context),
            commitments=CommitmentService(context),
            brainstorms=BrainstormService(context),
            goals=GoalService(context),
            modules=ModuleService(context),
            outbox=OutboxService(context),
            help=HelpService(context),
            mydata=MyDataService(context),
            review=ReviewService(context),
        )
