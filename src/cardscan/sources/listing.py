"""Hub model listings (`GET /api/models`, paginated by `Link: <…>; rel="next"`) and one-call repo heads.

The listing asks for `expand[]=sha` and `expand[]=gated`, so an audit learns every repo's commit from the listing
pages alone and an unchanged repo costs no request of its own. API reference: https://huggingface.co/docs/hub/api
(`GET /api/models`) and huggingface_hub `HfApi.list_models` (`ExpandModelProperty_T`: the accepted `expand` keys).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, urlencode

import requests

from cardscan.errors import ErrorCode, ScanError
from cardscan.sources.http import HubStats, Transport, next_link
from cardscan.sources.hub import (
    API_BODY_LIMIT,
    HUB_ERROR_CODES,
    MAX_TREE_PAGES,
    STATUS_CODES,
    HubConfig,
    api_repo_url,
    model_info_url,
)

# The Hub caps the page size (`limit`) at 1000; huggingface_hub stops after `limit` items itself.
MAX_PAGE = 1000
SORT_KEYS = ("downloads", "likes", "lastModified")
# What each listed item must carry for an incremental audit: the commit and the gating setting.
HEAD_EXPAND = ("sha", "gated", "lastModified")
# And what a scan would otherwise ask model info for (file names, card YAML, the Hub's own counts, visibility): with
# these a listed repo's scan skips its model-info call. Sibling sizes are not listed (only model info's blobs=true).
SCAN_EXPAND = ("siblings", "cardData", "safetensors", "private")
SCAN_PAGE = 250
"""Items per page when files are listed too: pages stay well under the API reply limit, and 1,000 repos cost 4
listing requests (0.004 per repo)."""


@dataclass(frozen=True)
class ListingQuery:
    """One `/api/models` query, as the CLI's listing options give it."""

    author: str | None = None
    """Namespace (user or org) whose models to list."""
    search: str | None = None
    """Substring of the repo id."""
    filters: tuple[str, ...] = ()
    """Tags every listed model must have (library, task, `gguf`…)."""
    sort: str | None = None
    """downloads | likes | lastModified (descending)."""
    limit: int | None = None
    """Stop after this many models."""


@dataclass(frozen=True)
class RepoHead:
    """What one listing item (or one model-info call) says about a repo's current state."""

    repo_id: str
    """Canonical repo id."""
    sha: str | None
    """Commit of the revision asked for (main for listings)."""
    gated: str | bool | None
    """`False`, `"auto"` or `"manual"`; None when the answer did not say."""
    last_modified: str | None
    """ISO timestamp of the last commit, when given."""
    item: Mapping[str, Any] | None = None
    """The listing item itself when it was asked with files (`with_files`): what a scan uses instead of model info."""


def list_models(
    session: requests.Session,
    config: HubConfig,
    query: ListingQuery,
    stats: HubStats | None = None,
    *,
    with_files: bool = False,
) -> Iterator[RepoHead]:
    """Every model the query matches, page by page (memory: one page), with its sha and gating; `with_files` also
    lists what a scan needs (SCAN_EXPAND) and keeps each item in `RepoHead.item`."""
    transport = _transport(session, config, stats)
    params: list[tuple[str, str]] = [(k, v) for k, v in (("author", query.author), ("search", query.search)) if v]
    params += [("filter", f) for f in query.filters]
    if query.sort:
        params += [("sort", query.sort), ("direction", "-1")]
    size = SCAN_PAGE if with_files else MAX_PAGE
    params += [("limit", str(min(query.limit or size, size)))]
    params += [("expand[]", key) for key in (*HEAD_EXPAND, *(SCAN_EXPAND if with_files else ()))]
    url: str | None = f"{config.endpoint}/api/models?{urlencode(params)}"
    seen: set[str] = set()
    given = 0
    while url is not None:
        if url in seen or len(seen) >= MAX_TREE_PAGES:
            raise ScanError(ErrorCode.NETWORK, "model listing does not end (page loop)")
        seen.add(url)
        reply = transport.get(url, {}, token=config.token, limit=API_BODY_LIMIT)
        page = _decode(reply.status, reply.headers, reply.body, "model listing")
        if not isinstance(page, list):
            raise ScanError(ErrorCode.MALFORMED, "model listing page is not a JSON list")
        for item in page:
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                yield replace(_head(item), item=item) if with_files else _head(item)
                given += 1
                if query.limit is not None and given >= query.limit:
                    return
        url = next_link(reply.headers, url)


def repo_head(
    session: requests.Session,
    config: HubConfig,
    repo_id: str,
    revision: str = "main",
    stats: HubStats | None = None,
    *,
    full: bool = False,
) -> RepoHead:
    """One model-info call restricted to sha + gating: is this repo at the commit we already know? With `full`, the
    whole model info a scan would ask for (kept in `RepoHead.item`): for a repo that will be scanned anyway, one call
    answers both."""
    transport = _transport(session, config, stats)
    if full:
        url = model_info_url(config.endpoint, repo_id, revision)
    else:
        query = urlencode([("expand[]", key) for key in HEAD_EXPAND])
        url = f"{api_repo_url(config.endpoint, repo_id)}/revision/{quote(revision, safe='')}?{query}"
    reply = transport.get(url, {}, token=config.token, limit=API_BODY_LIMIT)
    info = _decode(reply.status, reply.headers, reply.body, f"model info of {repo_id}")
    if not isinstance(info, dict):
        raise ScanError(ErrorCode.MALFORMED, f"model info of {repo_id} is not a JSON object")
    head = _head({"id": repo_id, **info})
    return replace(head, item=info) if full else head


def _transport(session: requests.Session, config: HubConfig, stats: HubStats | None) -> Transport:
    return Transport(
        session=session,
        stats=stats or HubStats(),
        timeout=config.timeout,
        max_retries=config.max_retries,
        max_total_wait=config.max_total_wait,
        user_agent=config.user_agent,
    )


def _head(item: dict[str, Any]) -> RepoHead:
    sha, gated, modified = item.get("sha"), item.get("gated"), item.get("lastModified")
    return RepoHead(
        repo_id=str(item["id"]),
        sha=sha if isinstance(sha, str) else None,
        gated=gated if isinstance(gated, (bool, str)) else None,
        last_modified=modified if isinstance(modified, str) else None,
    )


def _decode(status: int, headers: Mapping[str, str], body: bytes, what: str) -> object:
    """JSON of a successful reply; a ScanError with the Hub's own error code otherwise."""
    if status >= 400:
        hub_code = headers.get("X-Error-Code", "")
        code = HUB_ERROR_CODES.get(hub_code) or STATUS_CODES.get(status, ErrorCode.NETWORK)
        raise ScanError(code, f"{what}: HTTP {status}{f' ({hub_code})' if hub_code else ''}")
    try:
        return json.loads(body)
    except ValueError as exc:
        raise ScanError(ErrorCode.MALFORMED, f"{what} reply is not JSON: {exc}") from None
