"""The store's inventory location linked to its one warehouse (C2): listed from the store, chosen once connected."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from core.integration import connections
from core.platform.base import StoreAPIError
from core.platform.data import LocationData
from core.services.errors import Conflict, Invalid

log = logging.getLogger(__name__)

#: The credential that names the chosen location.
LOCATION_FIELD = "location_id"


class LocationsUnreadable(Conflict):
    """The store could not be asked for its locations; ``cause`` is what the store's client said."""

    def __init__(self, cause: str) -> None:
        super().__init__(f"The store's locations could not be read: {cause}")
        self.cause = cause


class NotAStoreLocation(Invalid):
    """The location chosen is not one the store lists."""

    def __init__(self) -> None:
        super().__init__("Choose one of the store's locations.", {LOCATION_FIELD: ["Not one of the store's locations."]})


@dataclass(frozen=True)
class StoreLocations:
    """A store's locations and the one linked to its warehouse (``current``: ``None`` when there is none)."""

    locations: list[LocationData]
    current: str | None


def _lists_locations(api: object) -> bool:
    return callable(getattr(api, "list_locations", None))


def store_locations(store_id: int) -> StoreLocations | None:
    """The store's locations, asked of the store now; ``None`` when its platform has none to choose.

    The current one is the credential ``location_id`` when it is one of them, else the default,
    else the first. A store that cannot be reached raises :class:`LocationsUnreadable`.
    """
    store = connections.get_store(store_id)
    if store.credentials_encrypted is None:
        return None
    api = connections.store_api(store)
    if not _lists_locations(api):
        return None
    try:
        locations = list(api.list_locations())  # type: ignore[attr-defined]
    except StoreAPIError as error:
        raise LocationsUnreadable(str(error)) from None
    except Exception as error:  # a plugin bug must not break the store's page
        log.exception("the %s plugin failed to list the store's locations", store.platform)
        raise LocationsUnreadable(f"the {store.platform} plugin failed ({type(error).__name__})") from None
    chosen = str(connections.credentials(store).get(LOCATION_FIELD) or "")
    return StoreLocations(locations, _current(locations, chosen))


def _current(locations: list[LocationData], chosen: str) -> str | None:
    ids = [location.external_id for location in locations]
    if chosen and chosen in ids:
        return chosen
    default = next((location.external_id for location in locations if location.is_default), None)
    return default or (ids[0] if ids else None)


def choose_location(store_id: int, location_id: str) -> None:
    """Link the store's warehouse to the store's location ``location_id`` (one the store lists)."""
    found = store_locations(store_id)
    if found is None:
        raise Conflict("This store's platform has no inventory locations to choose from.")
    if location_id not in {location.external_id for location in found.locations}:
        raise NotAStoreLocation
    connections.set_credentials(store_id, {LOCATION_FIELD: location_id})
