"""The domain services: the core's, and each feature's (declared in its ``Feature``), built once by
the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from bot.features import FeatureError, FeatureRegistry
from bot.services.agenda import AgendaService
from bot.services.base import Actor, ServiceContext
from bot.services.brainstorms import BrainstormService
from bot.services.catalog import FEATURES
from bot.services.commitments import CommitmentService
from bot.services.goals import GoalService
from bot.services.groupdata import GroupDataService
from bot.services.groups import GroupService
from bot.services.guilds import GuildService
from bot.services.help import HelpService
from bot.services.meetings import MeetingService
from bot.services.minutes import MinutesService
from bot.services.modules import ModuleService
from bot.services.mydata import MyDataService
from bot.services.outbox import OutboxService
from bot.services.purge import RetentionService

__all__ = ["FEATURES", "Actor", "FeatureRegistry", "ServiceContext", "Services"]

S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class Services:
    """The core's services as fields; every feature's service by its class: ``services.get(GoalService)``.

    The features' services are the ones their ``Feature.services`` declare (``bot.services.catalog``).
    The properties below (``services.goals`` …) are shortcuts kept for the call sites written before
    features declared their services; a new feature adds none (its cog calls ``get``).
    """

    guilds: GuildService
    groups: GroupService
    outbox: OutboxService
    help: HelpService
    mydata: MyDataService
    retention: RetentionService
    groupdata: GroupDataService
    features: dict[type, object] = field(default_factory=dict)  # a feature's service, by its class

    @classmethod
    def build(cls, context: ServiceContext, features: FeatureRegistry = FEATURES) -> Services:
        built: dict[type, object] = {}
        for factory in features.service_factories:
            service = factory(context)
            if type(service) in built:
                raise FeatureError(f"service {type(service).__name__} is declared by two features")
            built[type(service)] = service
        return cls(
            guilds=GuildService(context),
            groups=GroupService(context),
            outbox=OutboxService(context),
            help=HelpService(context),
            mydata=MyDataService(context),
            retention=RetentionService(context),
            groupdata=GroupDataService(context),
            features=built,
        )

    def get(self, service: type[S]) -> S:
        """The service of that class, which a feature in the registry declared."""
        found = self.features.get(service)
        if not isinstance(found, service):
            raise FeatureError(f"No {service.__name__}: no feature in the registry declares it")
        return found

    # --- shortcuts for the call sites of the features that predate Feature.services ----------------

    @property
    def meetings(self) -> MeetingService:
        return self.get(MeetingService)

    @property
    def minutes(self) -> MinutesService:
        return self.get(MinutesService)

    @property
    def agenda(self) -> AgendaService:
        return self.get(AgendaService)

    @property
    def commitments(self) -> CommitmentService:
        return self.get(CommitmentService)

    @property
    def brainstorms(self) -> BrainstormService:
        return self.get(BrainstormService)

    @property
    def goals(self) -> GoalService:
        return self.get(GoalService)

    @property
    def modules(self) -> ModuleService:
        return self.get(ModuleService)
