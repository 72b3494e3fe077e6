"""``/namespace/{name}/quota``: a user's or organization's storage limit and usage
(``content.quotas``). The namespace's admins read it; only superusers set it (quotas are
the operator's), audited as ``quota_change``."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from cargohold.api.auth import Audit, Caller, Superuser
from cargohold.api.errors import ERROR_RESPONSES
from cargohold.api.models import AccountName, Body
from cargohold.api.services import Content, Organizations
from cargohold.content.quotas import Quota

router = APIRouter(prefix="/namespace", tags=["quotas"], responses=ERROR_RESPONSES)


class QuotaBody(Body):
    quota_bytes: int | None = Field(
        default=None, ge=0, description="pushes that would pass this many bytes are refused"
    )
    warning_percent: int = Field(
        default=80, ge=1, le=100, description="usage past this share of the quota is warned of"
    )


class QuotaOut(BaseModel):
    namespace: str
    quota_bytes: int | None
    warning_percent: int
    usage_bytes: int = Field(description="bytes of the blobs its manifests use, each once")


@router.get("/{name}/quota")
async def get_quota(
    name: AccountName, principal: Caller, organizations: Organizations, content: Content
) -> QuotaOut:
    await organizations.require_admin(principal, name)
    return _out(await content.quotas.get(name))


@router.put("/{name}/quota")
async def set_quota(
    name: AccountName, body: QuotaBody, principal: Superuser, content: Content, audit: Audit
) -> QuotaOut:
    quota = await content.quotas.set(name, body.quota_bytes, body.warning_percent)
    await audit.record("quota_change", namespace=name, **body.model_dump())
    return _out(quota)


def _out(quota: Quota) -> QuotaOut:
    return QuotaOut(
        namespace=quota.namespace,
        quota_bytes=quota.quota_bytes,
        warning_percent=quota.warning_percent,
        usage_bytes=quota.usage_bytes,
    )
