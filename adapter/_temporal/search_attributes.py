"""Search attributes on every run, so runs can be listed by function, event and app."""

from __future__ import annotations

import logging
from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

FUNCTION_ID = SearchAttributeKey.for_keyword("InngestFunctionId")
EVENT_NAME = SearchAttributeKey.for_keyword("InngestEventName")
EVENT_ID = SearchAttributeKey.for_keyword("InngestEventId")
APP_ID = SearchAttributeKey.for_keyword("InngestAppId")
ALL_KEYS = (FUNCTION_ID, EVENT_NAME, EVENT_ID, APP_ID)

log = logging.getLogger("adapter")


def run_search_attributes(
    app_id: str, function_id: str, event: dict[str, Any] | None
) -> TypedSearchAttributes:
    """The search attributes of one run (event fields left out for cron runs)."""
    pairs = [SearchAttributePair(APP_ID, app_id), SearchAttributePair(FUNCTION_ID, function_id)]
    if event is not None:
        pairs.append(SearchAttributePair(EVENT_NAME, str(event.get("name", ""))[:256]))
        pairs.append(SearchAttributePair(EVENT_ID, str(event.get("id", ""))[:256]))
    return TypedSearchAttributes(pairs)


def event_search_attributes(event: dict[str, Any]) -> TypedSearchAttributes:
    """The search attributes of an event's record: its name and id."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(EVENT_NAME, str(event.get("name", ""))[:256]),
            SearchAttributePair(EVENT_ID, str(event.get("id", ""))[:256]),
        ]
    )


async def missing_search_attributes(client: Client) -> list[str]:
    """Names of our search attributes the namespace does not have yet."""
    resp = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    have = set(resp.custom_attributes) | set(resp.system_attributes)
    return [key.name for key in ALL_KEYS if key.name not in have]


async def register_search_attributes(client: Client) -> list[str]:
    """Add the missing search attributes to the namespace; returns the names added."""
    missing = await missing_search_attributes(client)
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=client.namespace,
                search_attributes={
                    name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for name in missing
                },
            )
        )
    return missing


def is_unregistered_error(error: BaseException) -> bool:
    """True for Temporal's refusal of a search attribute the namespace does not know."""
    return "no mapping defined for search attribute" in str(error) or (
        "search attribute" in str(error) and "is not defined" in str(error)
    )


async def prepare_namespace(client: Client, apps: list[Any]) -> bool:
    """Register the search attributes if we may; tell each app whether they exist."""
    try:
        added = await register_search_attributes(client)
        if added:
            log.info("registered search attributes %s", ", ".join(added))
        ok = True
    except Exception as exc:  # e.g. no permission on a shared cluster
        ok = False
        log.warning(
            "runs will not carry Inngest* search attributes (%s); run `adapter setup` as a "
            "namespace admin to add them",
            str(exc).splitlines()[0],
        )
    for app in apps:
        app._search_attributes_registered(ok)
    return ok
